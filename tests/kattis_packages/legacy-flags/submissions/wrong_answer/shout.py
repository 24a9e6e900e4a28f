print(input().upper())  # numbers pass, the case-sensitive test fails
