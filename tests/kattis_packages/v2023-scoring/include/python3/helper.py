def factor():
    return float(open('data.txt').read())
