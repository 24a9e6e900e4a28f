# one word per line, then sort and drop duplicates (sorted, which is one of the allowed orders)
tr -s ' \n' '\n\n' | grep -v '^$' | sort -u
