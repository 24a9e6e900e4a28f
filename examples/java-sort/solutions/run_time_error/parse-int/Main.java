import java.util.Arrays;
import java.util.Scanner;

// Reads the numbers as int: a NumberFormatException (uncaught) on values beyond 2^31 - 1.
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = Integer.parseInt(in.next());
        int[] a = new int[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = Integer.parseInt(in.next());
            sum += a[i];
        }
        Arrays.sort(a);
        StringBuilder out = new StringBuilder();
        for (int x : a) out.append(x).append(' ');
        System.out.println(out.toString().trim());
        System.out.println((double) sum / n);
    }
}
