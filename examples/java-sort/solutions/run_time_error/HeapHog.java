import java.util.ArrayList;
import java.util.List;
import java.util.Scanner;

// Hoards the heap: an OutOfMemoryError
public class HeapHog {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        List<long[]> hoard = new ArrayList<>();
        for (int i = 0; i < 4096; i++) hoard.add(new long[1 << 17]);
        System.out.println(n + hoard.size());
    }
}
