// Starts Amazon's DynamoDB Local listening on 127.0.0.1 only. Its jar has no host option and
// binds every interface, so anyone who could reach the port could write to its tables (an admin
// client, say) with its well-known dummy credentials. This takes the Jetty server the jar
// builds from the usual arguments (-inMemory -port N ...) and sets the connector's host before
// it starts. Run with the source launcher of Java 17: java -cp DynamoDBLocal.jar this-file args.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
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
                bound++;
            } else {
                throw new IllegalStateException("unexpected connector " + c + "; refusing to listen beyond loopback");
            }
        }
        if (bound == 0) {
            throw new IllegalStateException("DynamoDB Local built no connector to bind to loopback");
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on 127.0.0.1 only");
    }
}
