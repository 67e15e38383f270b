package io.imgvec.jobs.run;

import io.imgvec.config.ConfigKeys;
import io.imgvec.config.ImgvecConfig;
import java.util.UUID;
import org.apache.logging.log4j.ThreadContext;

/**
 * What every log line of a run carries: its run id, command and stage (log4j's thread context, inherited by the
 * threads a run starts: conf/jvm.options sets log4j2.isThreadContextMapInheritable), and with
 * {@code log.format=json} one JSON object per line (log4j2's JsonTemplateLayout).
 */
public final class RunLog {
  private RunLog() {}

  /**
   * Starts a run's log context; switches to JSON lines when configured. Called before anything logs: log4j reads its
   * configuration on first use (reconfiguring later leaves Spark's loggers on the first one). Returns the run id.
   */
  public static String start(String command, ImgvecConfig config) {
    if (config.get(ConfigKeys.LOG_FORMAT).equals("json")) {
      System.setProperty("log4j2.configurationFile",
          RunLog.class.getResource("/imgvec/log4j2-json.properties").toString());
    }
    String runId = UUID.randomUUID().toString();
    ThreadContext.put("run_id", runId);
    ThreadContext.put("command", command);
    stage("start");
    return runId;
  }

  public static void stage(String stage) {
    ThreadContext.put("stage", stage);
  }
}
