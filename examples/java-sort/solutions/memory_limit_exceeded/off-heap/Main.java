import java.lang.reflect.Field;
import java.util.Scanner;

// Keeps its data off the Java heap (sun.misc.Unsafe.allocateMemory), where -Xmx does not
// bound it, and never frees it: the process outgrows the memory limit and is killed by the
// kernel, which is what "memory limit exceeded" means for the JVM. (A plain heap hog gets an
// OutOfMemoryError instead: see run_time_error/counting-sort.)
public class Main {
    public static void main(String[] args) throws Exception {
        Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
        f.setAccessible(true);
        sun.misc.Unsafe unsafe = (sun.misc.Unsafe) f.get(null);
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        long chunk = 1 << 20;
        for (int i = 0; i < 4096; i++) {  // up to 4 GiB, 1 MiB at a time, every byte written
            long address = unsafe.allocateMemory(chunk);
            unsafe.setMemory(address, chunk, (byte) n);
        }
        System.out.println(n);
    }
}
