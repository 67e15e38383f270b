package io.imgvec.jobs.embed;

import io.imgvec.pipeline.EmbeddingPipeline.Result;

/**
 * One output row's values in {@link EmbedOutput}'s column order (status, the fixed columns, then the carried
 * manifest columns), for both runners: Spark wraps them in a Row, the local runner writes them to Parquet.
 */
public final class EmbedRecords {
  private EmbedRecords() {}

  public static Object[] of(Result<?> r, String imageId, String modelId, Object[] carried) {
    if (r.error() != null) {
     return error(imageId, r.uri(), r.error().stage(), r.error().errorClass(), r.error().getMessage(), carried);
    }
    Object[] values = withCarried(carried);
    values[0] = EmbedOutput.EMBEDDED;
    values[1] = imageId;
    values[2] = r.uri();
    values[3] = r.embedding().contentSha256();
    values[4] = modelId;
    values[5] = r.embedding().vector();
    values[6] = r.embedding().width();
    values[7] = r.embedding().height();
    return values;
  }

  public static Object[] error(String imageId, String uri, String stage, String errorClass, String message,
      Object[] carried) {
    Object[] values = withCarried(carried);
    values[0] = EmbedOutput.ERROR;
    values[1] = imageId;
    values[2] = uri;
    values[8] = stage;
    values[9] = errorClass;
    values[10] = message;
    return values;
  }

  public static boolean embedded(Object[] values) {
    return values[0].equals(EmbedOutput.EMBEDDED);
  }

  private static Object[] withCarried(Object[] carried) {
    Object[] values = new Object[EmbedOutput.FIXED + carried.length];
    System.arraycopy(carried, 0, values, EmbedOutput.FIXED, carried.length);
    return values;
  }
}
