package io.imgvec.pipeline;

import java.util.Map;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;

/** Hadoop settings for commands that run without Spark, taken the way Spark takes them: -Dspark.hadoop.KEY=VALUE. */
public final class HadoopConfs {
  private static final String PREFIX = "spark.hadoop.";

  private HadoopConfs() {}

  public static Map<String, String> fromSystemProperties() {
    return System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith(PREFIX))
        .collect(Collectors.toMap(k -> k.substring(PREFIX.length()), System::getProperty));
  }

  /** A Hadoop configuration with those settings. */
  public static Configuration configuration() {
    Configuration conf = new Configuration();
    fromSystemProperties().forEach(conf::set);
    return conf;
  }
}
