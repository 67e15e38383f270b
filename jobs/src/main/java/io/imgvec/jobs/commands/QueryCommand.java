package io.imgvec.jobs.commands;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.image.ImageError;
import io.imgvec.io.Json;
import io.imgvec.jobs.run.RunSummary;
import io.imgvec.pipeline.HadoopConfs;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.pipeline.QueryImageEmbedder;
import io.imgvec.published.IndexFetcher;
import io.imgvec.published.PublishedIndex;
import io.imgvec.util.Numbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/** {@code imgvec query}: nearest neighbours of an image (embedded with the index's model) or of a vector. */
public final class QueryCommand {

  private QueryCommand() {}

  public static RunSummary run(String indexUri, String imageUri, String vectorJson, int k, ImgvecConfig config)
      throws Exception {
    if ((imageUri == null) == (vectorJson == null)) {
      throw new ConfigException("query needs exactly one of --image <uri> or --vector <json array>");
    }
    if (k <= 0) {
      throw new ConfigException("-k must be a positive number, got " + k);
    }
    ImageFetcher fetcher = ImageFetcher.of(HadoopConfs.fromSystemProperties(), config, false);
    Configuration conf = fetcher.hadoopConf();
    try (PublishedIndex index = PublishedIndex.open(indexUri, conf, IndexFetcher.temporaryCache())) {
      float[] vector = imageUri != null ? embed(index, imageUri, config, fetcher) : parseVector(vectorJson);
      if (vector.length != index.dimension()) {
        throw new ConfigException("the query vector has dimension " + vector.length + ", the index has "
            + index.dimension());
      }
      long start = System.nanoTime();
      List<PublishedIndex.Neighbor> neighbors = index.search(vector, k);
      double ms = (System.nanoTime() - start) / 1e6;
      System.out.printf("%-5s %-12s %-40s %s%n", "rank", "distance", "image_id", "uri");
      for (int i = 0; i < neighbors.size(); i++) {
        PublishedIndex.Neighbor n = neighbors.get(i);
        System.out.printf("%-5d %-12.5f %-40s %s%n", i + 1, n.distance(), n.imageId(), n.uri());
      }
      return new RunSummary("query").put("index", indexUri).put("version", index.version())
          .put("model_id", index.modelId()).put("query", imageUri != null ? imageUri : "vector").put("k", k)
          .put("search_ms", Numbers.round(ms, 3)).put("neighbors", PublishedIndex.Neighbor.rows(neighbors));
    }
  }

  /** Embeds the image with the model settings recorded in the index manifest, checking the model is the same. */
  private static float[] embed(PublishedIndex index, String imageUri, ImgvecConfig config, ImageFetcher fetcher)
      throws IOException {
    QueryImageEmbedder embedder = new QueryImageEmbedder(config, index.modelSettings(), index.modelId(),
        fetcher.hadoopConf());
    String uri = ImageFetcher.hasScheme(imageUri) ? imageUri : Path.of(imageUri).toUri().toString();
    try {
      return embedder.embed(fetcher.fetch(uri));
    } catch (ImageError e) {
      throw new ConfigException("cannot embed " + uri + ": " + e.errorClass() + ": " + e.getMessage());
    }
  }

  private static float[] parseVector(String json) {
    try {
      double[] values = Json.MAPPER.readValue(json, double[].class);
      float[] out = new float[values.length];
      for (int i = 0; i < values.length; i++) {
        out[i] = (float) values[i];
      }
      return out;
    } catch (JsonProcessingException e) {
      throw new ConfigException("--vector must be a JSON array of numbers: " + e.getOriginalMessage());
    }
  }
}
