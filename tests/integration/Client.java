// Client HOST PORT [timeout]: one connect through java.net.Socket (NIO
// underneath; IPv4 through AF_INET6 sockets with v4-mapped addresses).
import java.net.InetSocketAddress;
import java.net.Socket;

public class Client {
    public static void main(String[] args) {
        int timeout = args.length > 2 ? 3000 : 0;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(args[0], Integer.parseInt(args[1])), timeout);
            System.out.println("connected");
        } catch (java.io.IOException e) {
            System.out.println(e.getClass().getName() + ": " + e.getMessage());
            System.exit(3);
        }
    }
}
