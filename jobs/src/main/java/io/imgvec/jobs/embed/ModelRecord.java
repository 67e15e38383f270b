package io.imgvec.jobs.embed;

import com.fasterxml.jackson.core.type.TypeReference;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The model settings the embed job records beside its embeddings ({@code _imgvec_model.json}, ignored by Parquet
 * readers), so that build-index stores them in the index manifest and query embeds images exactly alike.
 */
public final class ModelRecord {
  static final String FILE = "_imgvec_model.json";

  private ModelRecord() {}

  public static void write(String embeddingsUri, String modelId, ImgvecConfig config, Configuration conf)
      throws IOException {
    Map<String, String> settings = new TreeMap<>();
    config.asStrings().forEach((k, v) -> {
      if (k.startsWith("model.")) {
        settings.put(k, v);
      }
    });
    Map<String, Object> record = new LinkedHashMap<>();
    record.put("model_id", modelId);
    record.put("settings", settings);
    Path path = new Path(embeddingsUri, FILE);
    try (OutputStream out = path.getFileSystem(conf).create(path, true)) {
      out.write(Json.MAPPER.writeValueAsBytes(record));
    }
  }

  /** The record, or null when the embeddings were not written by the embed job. */
  public static Map<String, Object> read(String embeddingsUri, Configuration conf) throws IOException {
    Path path = new Path(embeddingsUri, FILE);
    FileSystem fs = path.getFileSystem(conf);
    if (!fs.exists(path)) {
      return null;
    }
    try (InputStream in = fs.open(path)) {
      return Json.MAPPER.readValue(in, new TypeReference<Map<String, Object>>() {});
    }
  }
}
