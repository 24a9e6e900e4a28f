import java.util.Arrays;
import java.util.Scanner;

// Divides two longs: the mean is rounded towards zero (2 instead of 2.8).
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        long[] a = new long[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = in.nextLong();
            sum += a[i];
        }
        Arrays.sort(a);
        StringBuilder out = new StringBuilder();
        for (long x : a) out.append(x).append(' ');
        System.out.println(out.toString().trim());
        System.out.println(sum / n);
    }
}
