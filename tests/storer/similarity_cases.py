"""Programs for the similarity tests: Alice's solution, Bob's disguised copy of it (names,
order of functions, comments, dead code), and Carol-like independent work. Shared by the
storer's similarity tests (pages, API, browser)."""

from __future__ import annotations

import io
import zipfile

ALICE = b"""\
#include <stdio.h>

/* reads the numbers */
int read_all(long *values, int most) {
    int count = 0;
    while (count < most && scanf("%ld", &values[count]) == 1) {
        count++;
    }
    return count;
}

/* the sum, and the largest */
long sum_of(const long *values, int count, long *largest) {
    long sum = 0;
    *largest = values[0];
    for (int i = 0; i < count; i++) {
        sum += values[i];
        if (values[i] > *largest) {
            *largest = values[i];
        }
    }
    return sum;
}

int main(void) {
    long values[1000], largest;
    int count = read_all(values, 1000);
    if (count == 0) {
        printf("empty\\n");
        return 1;
    }
    printf("%ld %ld\\n", sum_of(values, count, &largest), largest);
    return 0;
}
"""

# Bob's copy: the functions swapped, every name changed, other comments, dead code
BOB = b"""\
#include <stdio.h>

// add them up and keep the maximum
long total(const long *xs, int n, long *mx) {
    long acc = 0;
    int unused = 42;
    *mx = xs[0];
    for (int k = 0; k < n; k++) {
        acc += xs[k];
        if (xs[k] > *mx) {
            *mx = xs[k];
        }
    }
    return acc;
}

// input
int load(long *xs, int cap) {
    int n = 0;
    while (n < cap && scanf("%ld", &xs[n]) == 1) {
        n++;
    }
    return n;
}

int main(void) {
    long xs[1000], mx;
    int n = load(xs, 1000);
    if (n == 0) {
        printf("empty\\n");
        return 1;
    }
    printf("%ld %ld\\n", total(xs, n, &mx), mx);
    return 0;
}
"""

# written apart: the same task, another way
DAVE = b"""\
#include <stdio.h>
int main() {
    long long s = 0, x, m = 0; int seen = 0;
    while (scanf("%lld", &x) == 1) { s += x; if (!seen || x > m) { m = x; } seen = 1; }
    if (!seen) { puts("empty"); return 1; }
    printf("%lld %lld\\n", s, m);
    return 0;
}
"""


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()
