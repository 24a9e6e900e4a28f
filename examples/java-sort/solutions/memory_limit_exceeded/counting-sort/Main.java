import java.util.Scanner;

// Counting sort with one counter per value between the smallest and the largest: fine for a
// small range, but a range of 10^8 values needs a 400 MB array. The JVM's heap is capped at the
// memory limit (-Xmx), so this ends in java.lang.OutOfMemoryError, an uncaught exception: a
// run-time error, not "memory limit exceeded".
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        long[] a = new long[n];
        long min = Long.MAX_VALUE, max = Long.MIN_VALUE, sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = in.nextLong();
            min = Math.min(min, a[i]);
            max = Math.max(max, a[i]);
            sum += a[i];
        }
        int[] count = new int[(int) (max - min + 1)];
        for (long x : a) count[(int) (x - min)]++;
        StringBuilder out = new StringBuilder();
        for (int v = 0; v < count.length; v++)
            for (int k = 0; k < count[v]; k++) out.append(v + min).append(' ');
        System.out.println(out.toString().trim());
        System.out.println((double) sum / n);
    }
}
