# a folder the format does not know: a warning
