"""assay: evaluates students programming assignments."""
