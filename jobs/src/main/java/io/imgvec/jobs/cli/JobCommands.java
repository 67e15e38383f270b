package io.imgvec.jobs.cli;

import io.imgvec.cli.Commands;
import io.imgvec.cli.ConfigOptions;
import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.jobs.commands.Demo;
import io.imgvec.jobs.commands.PlanCommand;
import io.imgvec.jobs.commands.MeasureCommand;
import io.imgvec.jobs.commands.QueryCommand;
import io.imgvec.jobs.commands.SqlCommand;
import io.imgvec.jobs.embed.EmbedJob;
import io.imgvec.jobs.embed.local.LocalEmbedJob;
import io.imgvec.jobs.index.BuildIndexJob;
import io.imgvec.jobs.index.UpdateIndexJob;
import io.imgvec.jobs.run.RunLog;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.jobs.run.SparkSessions;
import io.imgvec.jobs.run.SummaryMetrics;
import io.imgvec.jobs.stream.ProduceCommand;
import io.imgvec.jobs.stream.StreamJob;
import io.imgvec.serving.ServeMain;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Every command and its options, declared once: {@code --help} is generated from these declarations. Each method
 * builds the configuration (options that set a key are passed on as shorthands), then hands over to its job.
 */
@Command(name = "imgvec", subcommands = ServeMain.class, synopsisSubcommandLabel = "<command>",
    description = "Image similarity search on Spark: embed, index, stream, serve.",
    footer = {"", "'imgvec <command> --help' lists a command's options; 'imgvec config' lists every setting."})
final class JobCommands implements Callable<Integer> {
  private static final String MANIFEST = "image manifest: CSV (header row), JSON lines or Parquet with image_id and uri";
  private static final String OUTPUT = "output directory: embeddings/, errors/, _summary.json";
  private static final String MODEL = "model file or directory (sets model.uri)";
  /** The first lines of conf/imgvec.properties, above every setting. */
  private static final String SETTINGS_FILE_HEADER = "# imgvec configuration: every setting with its default"
      + " (bin/imgvec config --write <file> writes this file).\n# Use with --config conf/imgvec.properties; --key=value"
      + " on the command line overrides. Unknown keys are errors.\n\n";

  /** docs/configuration.md above the settings table: how settings are given, and the launcher's environment. */
  private static final String CONFIGURATION_GUIDE = """
      # Configuration

      Every command reads one typed configuration: the defaults below, then `--config <file>` (a properties file;
      `conf/imgvec.properties` lists every key with its default), then `--<key>=<value>` on the command line. Unknown
      keys, malformed values and out-of-range numbers are refused before any work starts, with the valid choices. On
      a cluster the same settings travel with the command (`bin/imgvec submit -- <command> --<key>=<value>`).
      This file is generated: `bin/imgvec config --write docs/configuration.md`.

      ## Environment read by `bin/imgvec`

      | variable | default | what |
      |---|---|---|
      | `IMGVEC_JAVA_OPTS` | | JVM options added to the launcher's `-Xmx4g` (a `-Xmx` there wins) |
      | `IMGVEC_BUILD` | | `never`: run the jars as built, without checking whether a source is newer |
      | `IMGVEC_CDS` | `true` | `false`: no class-data-sharing archive (`target/cds/<command>.jsa`) |
      | `IMGVEC_DJL_OFFLINE` | `true` | `false` lets DJL download engine natives (local runs; `model.djl-offline` on clusters) |
      | `DJL_CACHE_DIR` | `target/djl-cache` | where DJL keeps engine files |
      | `OPENCV_LOG_LEVEL` | `FATAL` | OpenCV's own stderr lines (a bad image is an error row with its reason anyway) |
      | `SPARK_LOCAL_IP` | `127.0.0.1` | the address local Spark binds |
      | `SPARK_HOME` | | `submit` uses its `spark-submit` when set, else the project's own Spark jars |

      ## Settings

      """;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
  private boolean help;

  @Spec
  private CommandSpec spec;

  /** The command run and its configuration, once it has started. */
  private String command;
  private ImgvecConfig config;

  /** {@code imgvec} alone: the usage, exit 2. */
  @Override
  public Integer call() {
    spec.commandLine().usage(System.out);
    return 2;
  }

  /** The commands in name order in the usage help (picocli lists annotated subcommands before method ones). */
  static CommandLine commandLine(JobCommands commands) {
    CommandLine cli = Commands.allowOverrides(new CommandLine(commands));
    cli.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST,
        help -> help.commandList(new TreeMap<>(help.subcommands())));
    return cli;
  }

  @Command(name = "embed", description = "embed every image of a manifest")
  RunSummary embed(
      @Option(names = "--manifest", required = true, paramLabel = "<uri>", description = MANIFEST) String manifest,
      @Option(names = "--output", required = true, paramLabel = "<uri>", description = OUTPUT) String output,
      @Option(names = "--model", paramLabel = "<uri>", description = MODEL) String model,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("embed", settings.config("model.uri", model));
    RunSummary local = LocalEmbedJob.runIfLocal(manifest, output, config);
    if (local != null) {
      return local;
    }
    try (SparkSession spark = SparkSessions.create("imgvec-embed", config)) {
      return EmbedJob.run(spark, manifest, output, config);
    }
  }

  @Command(name = "build-index", description = "train, measure and publish a FAISS index")
  RunSummary buildIndex(
      @Option(names = "--embeddings", required = true, paramLabel = "<uri>",
          description = "the embed job's --output, or its embeddings/ dataset") String embeddings,
      @Option(names = "--output", required = true, paramLabel = "<uri>",
          description = "publish root: versions/<version>/ and LATEST") String output,
      @Option(names = "--type", paramLabel = "<type>",
          description = "auto|Flat|IVF-Flat|PQ|IVF-PQ|HNSW (sets index.type)") String type,
      @Option(names = "--memory-budget", paramLabel = "<bytes>",
          description = "memory the served index may take, k/m/g suffixes (sets index.memory-budget)") String budget,
      @Option(names = "--distributed", description = "add the vectors on the executors and merge them here (sets"
          + " index.distributed)") boolean distributed,
      @Option(names = "--shards", paramLabel = "<n>",
          description = "index files searched together, split by id range (sets index.shards)") String shards,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("build-index", settings.config("index.type", type, "index.memory-budget", budget,
        "index.distributed", distributed ? "true" : null, "index.shards", shards));
    try (SparkSession spark = SparkSessions.create("imgvec-build-index", config)) {
      return BuildIndexJob.run(spark, embeddings, output, config);
    }
  }

  @Command(name = "stream", description = "embed images as their Kafka records arrive, exactly once")
  RunSummary stream(
      @Option(names = "--bootstrap-servers", required = true, paramLabel = "<hosts>",
          description = "Kafka brokers, host:port[,host:port...]") String servers,
      @Option(names = "--topic", required = true, paramLabel = "<name>",
          description = "topic whose records are JSON manifest rows") String topic,
      @Option(names = "--output", required = true, paramLabel = "<uri>", description = OUTPUT) String output,
      @Option(names = "--checkpoint", required = true, paramLabel = "<uri>",
          description = "where the stream records its progress; restart with the same one") String checkpoint,
      @Option(names = "--trigger", paramLabel = "<trigger>",
          description = "available-now|processing-time=<duration> (sets stream.trigger)") String trigger,
      @Option(names = "--max-offsets-per-trigger", paramLabel = "<n>",
          description = "most records per micro-batch (sets stream.max-offsets-per-trigger)") String maxOffsets,
      @Option(names = "--starting-offsets", paramLabel = "<where>",
          description = "earliest|latest where a new stream starts (sets stream.starting-offsets)") String starting,
      @Option(names = "--model", paramLabel = "<uri>", description = MODEL) String model,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("stream", settings.config("stream.trigger", trigger, "stream.max-offsets-per-trigger",
        maxOffsets, "stream.starting-offsets", starting, "model.uri", model));
    StreamJob.trigger(config.get(ConfigKeys.STREAM_TRIGGER)); // a bad trigger fails before Spark starts
    try (SparkSession spark = SparkSessions.create("imgvec-stream", config)) {
      return StreamJob.run(spark, new StreamJob.Source(servers, topic, checkpoint), output, config);
    }
  }

  @Command(name = "produce", description = "write a manifest's rows to a Kafka topic as JSON records (backfill)")
  RunSummary produce(
      @Option(names = "--manifest", required = true, paramLabel = "<uri>", description = MANIFEST) String manifest,
      @Option(names = "--bootstrap-servers", required = true, paramLabel = "<hosts>",
          description = "Kafka brokers, host:port[,host:port...]") String servers,
      @Option(names = "--topic", required = true, paramLabel = "<name>", description = "topic to write to")
      String topic,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("produce", settings.config());
    try (SparkSession spark = SparkSessions.create("imgvec-produce", config)) {
      return ProduceCommand.run(spark, manifest, servers, topic, config);
    }
  }

  @Command(name = "update-index",
      description = "add, replace and remove vectors of a published index without retraining")
  RunSummary updateIndex(
      @Option(names = "--index", required = true, paramLabel = "<uri>",
          description = "build-index's --output: its LATEST version is updated") String index,
      @Option(names = "--embeddings", required = true, paramLabel = "<uri>",
          description = "the embed or stream job's --output, or its embeddings/ dataset") String embeddings,
      @Option(names = "--rebuild-if-due", description = "rebuild instead when the rebuild rule says one is due (sets"
          + " update.rebuild-if-due)") boolean rebuildIfDue,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("update-index", settings.config("update.rebuild-if-due", rebuildIfDue ? "true"
        : null));
    try (SparkSession spark = SparkSessions.create("imgvec-update-index", config)) {
      return UpdateIndexJob.run(spark, index, embeddings, config);
    }
  }

  @Command(name = "plan",
      description = "estimate an embed run's time and cost and its index's size before running it")
  RunSummary plan(
      @Option(names = "--manifest", required = true, paramLabel = "<uri>", description = MANIFEST) String manifest,
      @Option(names = "--sample", paramLabel = "<n>", defaultValue = "64",
          description = "images measured here (default ${DEFAULT-VALUE})") int sample,
      @Option(names = "--instances", paramLabel = "<file>",
          description = "instance types and prices (default conf/instances.json)") Path instances,
      @Option(names = "--model", paramLabel = "<uri>", description = MODEL) String model,
      @Mixin ConfigOptions settings) throws Exception {
    double bootSeconds = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
    ImgvecConfig config = start("plan", settings.config("model.uri", model));
    Path prices = instances != null ? instances
        : Path.of(System.getProperty("imgvec.home", "."), "conf", "instances.json");
    try (SparkSession spark = SparkSessions.create("imgvec-plan", config)) {
      RunSummary plan = PlanCommand.run(spark, manifest, Main.positive("--sample", sample), prices, config,
          bootSeconds);
      System.out.print(PlanCommand.table(plan));
      return plan;
    }
  }

  @Command(name = "sql", description = "Spark SQL over embeddings, errors and other Parquet outputs; rows as JSON"
      + " lines")
  RunSummary sql(
      @Option(names = "--query", required = true, paramLabel = "<sql>", description = "the query") String query,
      @Option(names = "--run", paramLabel = "<uri>",
          description = "an embed or stream --output: views embeddings, errors (and live_embeddings)") String run,
      @Option(names = "--views", paramLabel = "<name=uri,...>", description = "more Parquet datasets as views")
      String views,
      @Option(names = "--limit", paramLabel = "<n>", defaultValue = "100000",
          description = "most rows printed (default ${DEFAULT-VALUE})") int limit,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("sql", settings.config());
    try (SparkSession spark = SparkSessions.create("imgvec-sql", config)) {
      SqlCommand.run(spark, query, run, views, Main.positive("--limit", limit), System.out);
    }
    return null;
  }

  @Command(name = "query", description = "nearest neighbours from a published index")
  RunSummary query(
      @Option(names = "--index", required = true, paramLabel = "<uri>",
          description = "build-index's --output (follows LATEST) or one version directory") String index,
      @Option(names = "--image", paramLabel = "<uri>", description = "query image, embedded with the index's model")
      String image,
      @Option(names = "--vector", paramLabel = "<json>", description = "query vector, e.g. [0.1, 0.2, ...]")
      String vector,
      @Option(names = {"-k", "--k"}, paramLabel = "<n>", defaultValue = "10",
          description = "neighbours to return (default ${DEFAULT-VALUE})") int k,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("query", settings.config());
    return QueryCommand.run(index, image, vector, Main.positive("-k", k), config);
  }

  @Command(name = "measure", description = "time a published index again as build-index did (its held-out"
      + " queries, or yours) beside what its manifest reports")
  RunSummary measure(
      @Option(names = "--index", required = true, paramLabel = "<uri>",
          description = "build-index's --output (follows LATEST) or one version directory") String index,
      @Option(names = "--queries", paramLabel = "<uri>",
          description = "embeddings (Parquet) to query with instead: latency only") String queries,
      @Option(names = "--limit", paramLabel = "<n>", defaultValue = "1000",
          description = "most --queries vectors used (default ${DEFAULT-VALUE})") int limit,
      @Mixin ConfigOptions settings) throws Exception {
    ImgvecConfig config = start("measure", settings.config());
    if (queries == null) {
      return MeasureCommand.run(index);
    }
    try (SparkSession spark = SparkSessions.create("imgvec-measure", config)) {
      return MeasureCommand.run(spark, index, queries, Main.positive("--limit", limit));
    }
  }

  @Command(name = "demo", description = "embed the sample photos, index them, query one")
  RunSummary demo(
      @Option(names = "--output", paramLabel = "<dir>", defaultValue = "target/imgvec-demo",
          description = "where the demo writes (default ${DEFAULT-VALUE})") String output,
      @Mixin ConfigOptions settings) throws Exception {
    return Demo.run(output, start("demo", settings.config()));
  }

  @Command(name = "config", description = "print every setting with its description and default")
  RunSummary config(
      @Option(names = "--write", paramLabel = "<file>", description = "write them there instead, as a settings file"
          + " or, for a .md file, as the configuration guide (bin/imgvec config --write conf/imgvec.properties and"
          + " --write docs/configuration.md regenerate the shipped files)") Path file,
      @Mixin ConfigOptions settings) throws Exception {
    settings.config();
    if (file == null) {
      System.out.print(ImgvecConfig.documentedDefaults());
    } else if (file.toString().endsWith(".md")) {
      Files.writeString(file, CONFIGURATION_GUIDE + ImgvecConfig.markdownReference());
    } else {
      Files.writeString(file, SETTINGS_FILE_HEADER + ImgvecConfig.documentedDefaults());
    }
    return null;
  }

  /** Pushes a job's summary to the Pushgateway, when metrics.pushgateway names one (query is interactive). */
  void pushMetrics(RunSummary summary) throws IOException {
    String pushgateway = config.get(ConfigKeys.METRICS_PUSHGATEWAY);
    if (!pushgateway.isEmpty() && !command.equals("query")) {
      SummaryMetrics.push(summary, pushgateway);
    }
  }

  private ImgvecConfig start(String command, ImgvecConfig config) {
    RunLog.start(command, config);
    this.command = command;
    this.config = config;
    return config;
  }
}
