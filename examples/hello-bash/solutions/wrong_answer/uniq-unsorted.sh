# uniq only drops *adjacent* duplicates: a word that comes back later is printed again
tr -s ' \n' '\n\n' | grep -v '^$' | uniq
