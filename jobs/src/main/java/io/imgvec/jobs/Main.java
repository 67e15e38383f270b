package io.imgvec.jobs;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.index.IndexBuildException;
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
      "  build-index --embeddings <uri> --output <uri> [--type auto|Flat|IVF-Flat|PQ|IVF-PQ] [--memory-budget <bytes>]",
      "                                                            train, measure and publish a FAISS index",
      "  query   --index <uri> (--image <uri> | --vector <json>) [-k N]   nearest neighbours from a published index",
      "  demo    [--output <dir>]                                  embed the sample photos, index them, query one",
      "  config                                                    print every setting with its default");

  private Main() {}

  public static void main(String[] args) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      System.out.println(USAGE);
      System.exit(args.length == 0 ? 2 : 0);
    }
    if (args[0].equals("config")) {
      System.out.print(ImgvecConfig.documentedDefaults());
      return;
    }
    try {
      RunSummary summary = run(args[0], Arrays.asList(args).subList(1, args.length));
      System.out.println(summary.toJson());
    } catch (ConfigException | IndexBuildException e) {
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
      case "build-index" -> {
        JobArgs a = JobArgs.parse(command, args, Set.of("embeddings", "output", "type", "memory-budget"),
            Map.of("type", "index.type", "memory-budget", "index.memory-budget"));
        String embeddings = a.require("embeddings");
        String output = a.require("output");
        try (SparkSession spark = SparkSessions.create("imgvec-build-index", a.config())) {
          return BuildIndexJob.run(spark, embeddings, output, a.config());
        }
      }
      case "query" -> {
        JobArgs a = JobArgs.parse(command, args, Set.of("index", "image", "vector", "k"), Map.of());
        return QueryCommand.run(a.require("index"), a.optional("image", null), a.optional("vector", null),
            parseK(a.optional("k", "10")), a.config());
      }
      case "demo" -> {
        JobArgs a = JobArgs.parse(command, args, Set.of("output"), Map.of());
        return Demo.run(a.optional("output", "target/imgvec-demo"), a.config());
      }
      default -> throw new ConfigException("unknown command '" + command + "'\n" + USAGE);
    }
  }

  private static int parseK(String k) {
    try {
      return Integer.parseInt(k);
    } catch (NumberFormatException e) {
      throw new ConfigException("-k must be a whole number, got '" + k + "'");
    }
  }
}
