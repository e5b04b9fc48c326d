// FaultClient KIND PORT [timeout]: Java's HTTP clients of 127.0.0.1:PORT,
// as faultclient.py: the status and body length, or the exception (and
// exit status 3).
//   httpclient     java.net.http.HttpClient (NIO, its own selector thread)
//   post           HttpClient again, POSTing 256 MiB: writes that block
//                  once the server stops reading
//   urlconnection  java.net.HttpURLConnection (a blocking socket)
//   peer           a SocketChannel's and a Socket's remote address: Java's
//                  own record of the connect (neither calls getpeername)
// With "timeout", the request's timeout (HttpClient) or the read timeout
// (urlconnection) is 1 s, and "elapsed_ms=N" says when it ended, counted
// from the request: the JVM's start and the client's making left out.
// Timing what shaping changes (shapeclient.py's words; last, "ms=N", the
// JVM's start left out as well):
//   get            httpclient, timed from the request to the body's end
//   rtt N          a Socket: N round trips of 1 byte each to an echo
//                  server, timed from the connect's end
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Collections;

public class FaultClient {
    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int port = Integer.parseInt(args[1]);
        boolean timeout = args.length > 2 && args[2].equals("timeout");
        String url = "http://127.0.0.1:" + port + "/";
        HttpClient client = kind.equals("urlconnection") || kind.equals("rtt") ? null : HttpClient.newHttpClient();
        long start = System.nanoTime();
        boolean failed = false;
        try {
            switch (kind) {
            case "httpclient":
            case "get":
            case "post": {
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
                if (timeout)
                    b.timeout(Duration.ofSeconds(1));
                if (kind.equals("post"))
                    b.POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofByteArrays(Collections.nCopies(256, new byte[1 << 20])), 256L << 20));
                HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                System.out.println("status " + r.statusCode() + ", " + r.body().length + " body bytes");
                break;
            }
            case "urlconnection": {
                HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
                if (timeout)
                    c.setReadTimeout(1000);
                int status = c.getResponseCode();
                long n = 0;
                try (InputStream in = c.getInputStream()) {
                    n = in.transferTo(java.io.OutputStream.nullOutputStream());
                }
                System.out.println("status " + status + ", " + n + " body bytes");
                break;
            }
            case "rtt": {
                int n = Integer.parseInt(args[2]);
                try (Socket s = new Socket("127.0.0.1", port)) {
                    s.setTcpNoDelay(true);
                    OutputStream out = s.getOutputStream();
                    InputStream in = s.getInputStream();
                    start = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        out.write('x');
                        if (in.read() != 'x')
                            throw new IOException("echo lost");
                    }
                }
                System.out.println(n + " round trips");
                break;
            }
            case "peer": {
                InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
                try (SocketChannel ch = SocketChannel.open(to); Socket s = new Socket()) {
                    s.connect(to);
                    System.out.println("SocketChannel.getRemoteAddress " + ch.getRemoteAddress());
                    System.out.println("Socket.getInetAddress " + s.getInetAddress() + ":" + s.getPort());
                }
                break;
            }
            default:
                throw new IllegalArgumentException(kind);
            }
        } catch (IOException e) {
            System.out.println(e.getClass().getName() + ": " + e.getMessage());
            failed = true;
        }
        if (timeout)
            System.out.println("elapsed_ms=" + (System.nanoTime() - start) / 1000000);
        if (kind.equals("get") || kind.equals("rtt"))
            System.out.println("ms=" + (System.nanoTime() - start) / 1000000);
        System.exit(failed ? 3 : 0);
    }
}
