// Starts Amazon's DynamoDB Local listening on 127.0.0.1 only. Its jar has no host option and
// binds every interface, so anyone who could reach the port could write to its tables (an admin
// client, say) with its well-known dummy credentials. This takes the Jetty server the jar
// builds from the usual arguments (-inMemory -port N ...) and sets the connector's host before
// it starts. Run with the source launcher of Java 17: java -cp DynamoDBLocal.jar this-file args.
// `-port 0` (which the jar's own parser refuses) lets the kernel pick a free port at bind time;
// the line `DynamoDB Local listening on http://127.0.0.1:PORT/` then names the port it got, so
// no caller has to guess a free port and hope it is still free when the server binds it.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
        boolean anyPort = false;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("-port") && args[i + 1].equals("0")) {
                args[i + 1] = "8000"; // only parsed here; the connector is set to port 0 below
                anyPort = true;
            }
        }
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            System.exit(2); // -help or a bad argument: the jar has printed why
        }
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        int bound = 0;
        for (Connector c : server.getConnectors()) {
            if (c instanceof ServerConnector) {
                ((ServerConnector) c).setHost("127.0.0.1");
                if (anyPort) {
                    ((ServerConnector) c).setPort(0);
                }
                bound++;
            } else {
                throw new IllegalStateException("unexpected connector " + c + "; refusing to listen beyond loopback");
            }
        }
        if (bound == 0) {
            throw new IllegalStateException("DynamoDB Local built no connector to bind to loopback");
        }
        proxy.start();
        for (Connector c : server.getConnectors()) {
            System.out.println("DynamoDB Local listening on http://127.0.0.1:" + ((ServerConnector) c).getLocalPort() + "/");
        }
    }
}
