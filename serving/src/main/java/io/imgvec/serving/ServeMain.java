package io.imgvec.serving;

import io.imgvec.config.ConfigException;
import io.imgvec.config.JobArgs;
import io.imgvec.pipeline.HadoopConfs;
import io.imgvec.util.UserErrors;
import io.imgvec.util.UserException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code imgvec serve}: through {@code bin/imgvec serve} and the app jar's main class, or on its own as the container
 * image's entry point (no Spark on its classpath).
 */
public final class ServeMain {
  /** The command's options: name → "&lt;value&gt; description". */
  public static final Map<String, String> OPTIONS = new LinkedHashMap<>();

  static {
    OPTIONS.put("index", "<uri> build-index's --output (required)");
    OPTIONS.put("host", "<address> to listen on (default 127.0.0.1; 0.0.0.0 in a container)");
    OPTIONS.put("port", "<n> to listen on (default 8080; 0 = any free port)");
  }

  private ServeMain() {}

  public static void main(String[] args) {
    try {
      serve(JobArgs.parse("serve", List.of(args), OPTIONS.keySet(), Map.of()));
    } catch (UserException e) {
      UserErrors.report("serve", e, false);
      System.exit(UserErrors.EXIT_STATUS);
    } catch (Exception e) {
      UserErrors.reportBug("serve", e);
      System.exit(1);
    }
  }

  /** Starts the server and serves until the process is stopped. */
  public static void serve(JobArgs a) throws Exception {
    try (IndexServer server = IndexServer.start(a.require("index"), a.optional("host", "127.0.0.1"),
        port(a.optional("port", "8080")), a.config(), HadoopConfs.configuration())) {
      server.join();
    }
  }

  private static int port(String port) {
    try {
      int p = Integer.parseInt(port);
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new ConfigException("--port must be from 0 to 65535, got '" + port + "'");
    }
  }
}
