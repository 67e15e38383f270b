package io.imgvec.jobs;

import org.apache.hadoop.conf.Configuration;

/** Hadoop settings for commands that run without Spark, taken the way Spark takes them: -Dspark.hadoop.KEY=VALUE. */
final class HadoopConfs {
  private static final String PREFIX = "spark.hadoop.";

  private HadoopConfs() {}

  static Configuration fromSystemProperties() {
    Configuration conf = new Configuration();
    System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith(PREFIX))
        .forEach(k -> conf.set(k.substring(PREFIX.length()), System.getProperty(k)));
    return conf;
  }
}
