package io.imgvec.jobs.run;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Builds the SparkSession for a job: the master spark-submit gave, or a local one on loopback. */
public final class SparkSessions {
  private SparkSessions() {}

  public static SparkSession create(String appName, ImgvecConfig config) {
    SparkConf conf = new SparkConf().setAppName(appName);
    // Spark's default plus Kafka's JAAS settings (kafka.sasl.jaas.config holds the password) in UIs, plans and logs
    conf.setIfMissing("spark.redaction.regex", "(?i)secret|password|token|access[.]?key|jaas");
    conf.setIfMissing("spark.sql.redaction.options.regex", "(?i)url|secret|password|token|access[.]?key|jaas");
    if (!conf.contains("spark.master")) {
      String master = config.get(ConfigKeys.SPARK_MASTER);
      conf.setMaster(master);
      if (master.startsWith("local")) {
        conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        conf.setIfMissing("spark.driver.host", "127.0.0.1");
        conf.setIfMissing("spark.ui.enabled", "false");
        conf.setIfMissing("spark.executor.heartbeatInterval", "5s"); // progress lines follow running tasks
        conf.setIfMissing("spark.sql.shuffle.partitions", String.valueOf(Runtime.getRuntime().availableProcessors()));
      }
    }
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /** The Hadoop settings of the session, shipped to executors for image and model reads (s3a credentials etc.). */
  public static Map<String, String> hadoopProperties(SparkSession spark) {
    Map<String, String> props = new HashMap<>();
    spark.sparkContext().hadoopConfiguration().forEach(e -> props.put(e.getKey(), e.getValue()));
    return props;
  }
}
