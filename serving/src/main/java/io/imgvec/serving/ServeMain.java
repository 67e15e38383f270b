package io.imgvec.serving;

import io.imgvec.cli.Commands;
import io.imgvec.cli.ConfigOptions;
import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.pipeline.HadoopConfs;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code imgvec serve}: through {@code bin/imgvec serve} and the app jar's main class, or on its own as the container
 * image's entry point (no Spark on its classpath).
 */
@Command(name = "serve", description = "HTTP query server over a published index, following its LATEST")
public final class ServeMain implements Callable<Void> {
  @Option(names = "--index", required = true, paramLabel = "<uri>", description = "build-index's --output")
  String index;

  @Option(names = "--host", paramLabel = "<address>", defaultValue = "127.0.0.1",
      description = "to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 in a container)")
  String host;

  @Option(names = "--port", paramLabel = "<n>", defaultValue = "8080",
      description = "to listen on (default ${DEFAULT-VALUE}; 0 = any free port)")
  int port;

  @Mixin
  ConfigOptions settings;

  public static void main(String[] args) {
    System.exit(Commands.execute(new CommandLine(new ServeMain()), args, Commands::userError, result -> {}));
  }

  /** Starts the server and serves until the process is stopped. */
  @Override
  public Void call() throws Exception {
    ImgvecConfig config = settings.config();
    if (port < 0 || port > 65535) {
      throw new ConfigException("--port must be from 0 to 65535, got '" + port + "'");
    }
    try (IndexServer server = IndexServer.start(index, host, port, config, HadoopConfs.configuration())) {
      server.join();
    }
    return null;
  }
}
