package io.imgvec.jobs;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.config.JobArgs;
import io.imgvec.serving.ServeMain;
import io.imgvec.util.UserErrors;
import io.imgvec.util.UserException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;

/**
 * Entry point of every job: {@code imgvec <command> [options]}, locally or through spark-submit. User errors (bad
 * flags, settings or inputs) print one line and exit 2, their stack trace going to a log file (or the terminal with
 * {@code --verbose}); anything else is a bug and shows its trace, exit 1.
 */
public final class Main {
  /**
   * One command: its options (name → "&lt;value&gt; description") and the options that are shorthands for
   * configuration keys.
   */
  private record Command(String name, String summary, Map<String, String> options, Map<String, String> shorthands) {}

  private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
  /** Marks an option that takes no value: {@code --name} sets its configuration key to true. */
  private static final String FLAG = "[flag] ";
  /** The first lines of conf/imgvec.properties, above every setting. */
  private static final String SETTINGS_FILE_HEADER = "# imgvec configuration: every setting with its default"
      + " (bin/imgvec config --write <file> writes this file).\n# Use with --config conf/imgvec.properties; --key=value"
      + " on the command line overrides. Unknown keys are errors.\n\n";

  static {
    add(new Command("embed", "embed every image of a manifest", options(
        "manifest", "<uri> image manifest: CSV (header row), JSON lines or Parquet with image_id and uri (required)",
        "output", "<uri> output directory: embeddings/, errors/, _summary.json (required)",
        "model", "<uri> model file or directory (sets model.uri)"), Map.of("model", "model.uri")));
    add(new Command("build-index", "train, measure and publish a FAISS index", options(
        "embeddings", "<uri> the embed job's --output, or its embeddings/ dataset (required)",
        "output", "<uri> publish root: versions/<version>/ and LATEST (required)",
        "type", "auto|Flat|IVF-Flat|PQ|IVF-PQ (sets index.type)",
        "memory-budget", "<bytes> memory the served index may take, k/m/g suffixes (sets index.memory-budget)",
        "distributed", FLAG + "add the vectors on the executors and merge them here (sets index.distributed)",
        "shards", "<n> index files searched together, split by id range (sets index.shards)"),
        Map.of("type", "index.type", "memory-budget", "index.memory-budget", "distributed", "index.distributed",
            "shards", "index.shards")));
    add(new Command("stream", "embed images as their Kafka records arrive, exactly once", options(
        "bootstrap-servers", "<hosts> Kafka brokers, host:port[,host:port...] (required)",
        "topic", "<name> topic whose records are JSON manifest rows (required)",
        "output", "<uri> output directory: embeddings/, errors/, _summary.json (required)",
        "checkpoint", "<uri> where the stream records its progress; restart with the same one (required)",
        "trigger", "available-now|processing-time=<duration> (sets stream.trigger)",
        "max-offsets-per-trigger", "<n> most records per micro-batch (sets stream.max-offsets-per-trigger)",
        "starting-offsets", "earliest|latest where a new stream starts (sets stream.starting-offsets)",
        "model", "<uri> model file or directory (sets model.uri)"),
        Map.of("trigger", "stream.trigger", "max-offsets-per-trigger", "stream.max-offsets-per-trigger",
            "starting-offsets", "stream.starting-offsets", "model", "model.uri")));
    add(new Command("produce", "write a manifest's rows to a Kafka topic as JSON records (backfill)", options(
        "manifest", "<uri> image manifest: CSV, JSON lines or Parquet with image_id and uri (required)",
        "bootstrap-servers", "<hosts> Kafka brokers, host:port[,host:port...] (required)",
        "topic", "<name> topic to write to (required)"), Map.of()));
    add(new Command("update-index", "add, replace and remove vectors of a published index without retraining",
        options(
        "index", "<uri> build-index's --output: its LATEST version is updated (required)",
        "embeddings", "<uri> the embed or stream job's --output, or its embeddings/ dataset (required)",
        "rebuild-if-due", FLAG + "rebuild instead when the rebuild rule says one is due (sets update.rebuild-if-due)"),
        Map.of("rebuild-if-due", "update.rebuild-if-due")));
    add(new Command("plan", "estimate an embed run's time and cost and its index's size before running it",
        options(
        "manifest", "<uri> image manifest: CSV, JSON lines or Parquet with image_id and uri (required)",
        "sample", "<n> images measured here (default 64)",
        "instances", "<file> instance types and prices (default conf/instances.json)",
        "model", "<uri> model file or directory (sets model.uri)"), Map.of("model", "model.uri")));
    add(new Command("sql", "Spark SQL over embeddings, errors and other Parquet outputs; rows as JSON lines", options(
        "query", "<sql> the query (required)",
        "run", "<uri> an embed or stream --output: views embeddings, errors (and live_embeddings)",
        "views", "<name=uri,...> more Parquet datasets as views",
        "limit", "<n> most rows printed (default 100000)"), Map.of()));
    add(new Command("query", "nearest neighbours from a published index", options(
        "index", "<uri> build-index's --output (follows LATEST) or one version directory (required)",
        "image", "<uri> query image, embedded with the index's model",
        "vector", "<json> query vector, e.g. [0.1, 0.2, ...]",
        "k", "<n> neighbours to return (default 10)"), Map.of()));
    add(new Command("serve", "HTTP query server over a published index, following its LATEST", ServeMain.OPTIONS,
        Map.of()));
    add(new Command("demo", "embed the sample photos, index them, query one", options(
        "output", "<dir> where the demo writes (default target/imgvec-demo)"), Map.of()));
    add(new Command("config", "print every setting with its description and default", options(
        "write", "<file> write them there instead (bin/imgvec config --write conf/imgvec.properties regenerates"
            + " the shipped file)"), Map.of()));
  }

  private Main() {}

  public static void main(String[] args) {
    List<String> rest = new ArrayList<>(List.of(args));
    boolean verbose = rest.remove("--verbose");
    if (rest.isEmpty() || rest.get(0).equals("--help") || rest.get(0).equals("help")) {
      System.out.println(usage());
      System.exit(rest.isEmpty() ? 2 : 0);
    }
    String name = rest.remove(0);
    Command command;
    try {
      command = command(name);
    } catch (ConfigException e) {
      fail(name, e, verbose);
      return;
    }
    if (rest.contains("--help") || rest.contains("-h")) {
      System.out.println(help(command));
      System.exit(0);
    }
    try {
      RunSummary summary = run(command, rest);
      if (summary != null) {
        System.out.println(summary.toJson());
      }
    } catch (Exception e) {
      UserException user = asUserError(e);
      if (user == null) {
        UserErrors.reportBug(name, e);
        System.exit(1);
      }
      fail(name, user, verbose);
    }
  }

  private static void fail(String command, UserException e, boolean verbose) {
    UserErrors.report(command, e, verbose);
    System.exit(UserErrors.EXIT_STATUS);
  }

  /**
   * User errors: imgvec's own, and Spark's analysis errors about a path (it names the path and the reason; the
   * 100+ lines of its trace do not help).
   */
  static UserException asUserError(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UserException u) {
        return u;
      }
      if (t instanceof AnalysisException a && a.getCondition() != null
          && (a.getCondition().startsWith("PATH_NOT_FOUND") || a.getCondition().equals("UNABLE_TO_INFER_SCHEMA"))) {
        UserException u = new UserException(a.getSimpleMessage().replaceAll("\\s+", " "));
        u.initCause(a);
        return u;
      }
    }
    return null;
  }

  static RunSummary run(Command command, List<String> args) throws Exception {
    JobArgs a = parse(command, args);
    RunLog.start(command.name(), a.config());
    RunSummary summary = runParsed(command, a);
    String pushgateway = a.config().get(ConfigKeys.METRICS_PUSHGATEWAY);
    if (summary != null && !pushgateway.isEmpty() && !command.name().equals("query")) {
      SummaryMetrics.push(summary, pushgateway);
    }
    return summary;
  }

  private static RunSummary runParsed(Command command, JobArgs a) throws Exception {
    switch (command.name()) {
      case "embed" -> {
        String manifest = a.require("manifest");
        String output = a.require("output");
        RunSummary local = LocalEmbedJob.runIfLocal(manifest, output, a.config());
        if (local != null) {
          return local;
        }
        try (SparkSession spark = SparkSessions.create("imgvec-embed", a.config())) {
          return EmbedJob.run(spark, manifest, output, a.config());
        }
      }
      case "build-index" -> {
        String embeddings = a.require("embeddings");
        String output = a.require("output");
        try (SparkSession spark = SparkSessions.create("imgvec-build-index", a.config())) {
          return BuildIndexJob.run(spark, embeddings, output, a.config());
        }
      }
      case "stream" -> {
        StreamJob.Source source = new StreamJob.Source(a.require("bootstrap-servers"), a.require("topic"),
            a.require("checkpoint"));
        String output = a.require("output");
        StreamJob.trigger(a.config().get(ConfigKeys.STREAM_TRIGGER)); // a bad trigger fails before Spark starts
        try (SparkSession spark = SparkSessions.create("imgvec-stream", a.config())) {
          return StreamJob.run(spark, source, output, a.config());
        }
      }
      case "produce" -> {
        String manifest = a.require("manifest");
        String servers = a.require("bootstrap-servers");
        String topic = a.require("topic");
        try (SparkSession spark = SparkSessions.create("imgvec-produce", a.config())) {
          return ProduceCommand.run(spark, manifest, servers, topic, a.config());
        }
      }
      case "plan" -> {
        String manifest = a.require("manifest");
        int sample = parsePositive("--sample", a.optional("sample", "64"));
        java.nio.file.Path instances = java.nio.file.Path.of(a.optional("instances",
            java.nio.file.Path.of(System.getProperty("imgvec.home", "."), "conf", "instances.json").toString()));
        try (SparkSession spark = SparkSessions.create("imgvec-plan", a.config())) {
          RunSummary plan = PlanCommand.run(spark, manifest, sample, instances, a.config());
          System.out.print(PlanCommand.table(plan));
          return plan;
        }
      }
      case "sql" -> {
        String query = a.require("query");
        int limit = parsePositive("--limit", a.optional("limit", "100000"));
        try (SparkSession spark = SparkSessions.create("imgvec-sql", a.config())) {
          SqlCommand.run(spark, query, a.optional("run", null), a.optional("views", null), limit, System.out);
        }
        return null;
      }
      case "update-index" -> {
        String index = a.require("index");
        String embeddings = a.require("embeddings");
        try (SparkSession spark = SparkSessions.create("imgvec-update-index", a.config())) {
          return UpdateIndexJob.run(spark, index, embeddings, a.config());
        }
      }
      case "query" -> {
        return QueryCommand.run(a.require("index"), a.optional("image", null), a.optional("vector", null),
            parsePositive("-k", a.optional("k", "10")), a.config());
      }
      case "serve" -> {
        ServeMain.serve(a);
        return null;
      }
      case "demo" -> {
        return Demo.run(a.optional("output", "target/imgvec-demo"), a.config());
      }
      case "config" -> {
        String file = a.optional("write", null);
        if (file == null) {
          System.out.print(ImgvecConfig.documentedDefaults());
        } else {
          java.nio.file.Files.writeString(java.nio.file.Path.of(file), SETTINGS_FILE_HEADER
              + ImgvecConfig.documentedDefaults());
        }
        return null;
      }
      default -> throw new IllegalStateException("command without a handler: " + command.name());
    }
  }

  /** Parses {@code command}'s arguments as a run would, without running: unknown options or bad settings throw. */
  static JobArgs validate(String command, List<String> args) {
    return parse(command(command), args);
  }

  private static JobArgs parse(Command c, List<String> args) {
    List<String> expanded = new ArrayList<>();
    for (String arg : args) {
      String name = arg.replaceFirst("^--", "");
      boolean flag = c.options().getOrDefault(name, "").startsWith(FLAG);
      expanded.add(flag ? "--" + c.shorthands().get(name) + "=true" : arg);
    }
    return JobArgs.parse(c.name(), expanded, c.options().keySet(), c.shorthands());
  }

  static RunSummary run(String command, List<String> args) throws Exception {
    return run(command(command), args);
  }

  private static Command command(String name) {
    Command c = COMMANDS.get(name);
    if (c == null) {
      throw new ConfigException("unknown command '" + name + "'; commands: " + String.join(", ", COMMANDS.keySet())
          + " (bin/imgvec --help)");
    }
    return c;
  }

  private static String usage() {
    StringBuilder sb = new StringBuilder("usage: imgvec <command> [options] [--config <file>] [--key=value ...]"
        + " [--verbose]\n\ncommands:\n");
    COMMANDS.values().forEach(c -> sb.append(String.format("  %-12s %s%n", c.name(), c.summary())));
    return sb.append("\n'imgvec <command> --help' lists a command's options; 'imgvec config' lists every setting.")
        .toString();
  }

  private static String help(Command c) {
    StringBuilder sb = new StringBuilder("usage: imgvec " + c.name() + " [options]\n" + c.summary() + "\n\noptions:\n");
    c.options().forEach((option, text) -> { // an option's value is named by the text's first word
      if (text.startsWith(FLAG)) {
        sb.append(String.format("  --%-30s %s%n", option, text.substring(FLAG.length())));
      } else {
        int space = text.indexOf(' ');
        sb.append(String.format("  --%-30s %s%n", option + " " + text.substring(0, space), text.substring(space + 1)));
      }
    });
    sb.append(String.format("  --%-30s %s%n", "config <file>", "settings file (conf/imgvec.properties format)"));
    sb.append(String.format("  --%-30s %s%n", "<key>=<value>", "any setting ('imgvec config' lists them)"));
    sb.append(String.format("  --%-30s %s%n", "verbose", "show the stack trace of an error"));
    return sb.toString();
  }

  private static void add(Command c) {
    COMMANDS.put(c.name(), c);
  }

  /** Name/description pairs, in order. */
  private static Map<String, String> options(String... pairs) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put(pairs[i], pairs[i + 1]);
    }
    return out;
  }

  private static int parsePositive(String option, String value) {
    try {
      int n = Integer.parseInt(value);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw new ConfigException(option + " must be a whole number above 0, got '" + value + "'");
  }
}
