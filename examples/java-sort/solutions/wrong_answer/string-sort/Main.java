import java.util.Arrays;
import java.util.Scanner;

// Sorts the numbers as strings: "10" < "9" and "-1" < "-2".
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        String[] a = new String[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = in.next();
            sum += Long.parseLong(a[i]);
        }
        Arrays.sort(a);
        System.out.println(String.join(" ", a));
        System.out.println((double) sum / n);
    }
}
