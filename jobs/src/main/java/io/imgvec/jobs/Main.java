package io.imgvec.jobs;

import io.imgvec.config.ConfigException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;

/** Entry point of every job: {@code imgvec <command> [options]}, locally or through spark-submit. */
public final class Main {
  private static final String USAGE = String.join("\n",
      "usage: imgvec <command> [options] [--config <file>] [--key=value ...]",
      "  embed   --manifest <uri> --output <uri> [--model <uri>]   embed every image of a manifest",
      "  demo    [--output <dir>]                                  embed the sample photos with the embedded model");

  private Main() {}

  public static void main(String[] args) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      System.out.println(USAGE);
      System.exit(args.length == 0 ? 2 : 0);
    }
    try {
      RunSummary summary = run(args[0], Arrays.asList(args).subList(1, args.length));
      System.out.println(summary.toJson());
    } catch (ConfigException e) {
      System.err.println("imgvec " + args[0] + ": error: " + e.getMessage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("imgvec " + args[0] + ": failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  static RunSummary run(String command, List<String> args) throws Exception {
    switch (command) {
      case "embed" -> {
        JobArgs a = JobArgs.parse(command, args, Set.of("manifest", "output", "model"), Map.of("model", "model.uri"));
        String manifest = a.require("manifest");
        String output = a.require("output");
        try (SparkSession spark = SparkSessions.create("imgvec-embed", a.config())) {
          return EmbedJob.run(spark, manifest, output, a.config());
        }
      }
      case "demo" -> {
        JobArgs a = JobArgs.parse(command, args, Set.of("output"), Map.of());
        return Demo.run(a.optional("output", "target/imgvec-demo"), a.config());
      }
      default -> throw new ConfigException("unknown command '" + command + "'\n" + USAGE);
    }
  }
}
