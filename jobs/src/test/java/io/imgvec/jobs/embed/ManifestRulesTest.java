package io.imgvec.jobs.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.imgvec.image.ImageError;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.pipeline.UriPolicy;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class ManifestRulesTest {

  @Test
  void relativeUrisResolveInsideTheManifestsFolderAndNeverClimbOutOfIt() {
    assertEquals("s3a://b/m/img/a.jpg", ManifestRules.resolve("s3a://b/m", "img/a.jpg"));
    assertEquals("s3a://b/m/a.jpg", ManifestRules.resolve("s3a://b/m", "img/../a.jpg"));
    assertEquals("s3a://b/data/a.jpg", ManifestRules.resolve("s3a://b/m", "/data/a.jpg"), "absolute: same store");
    assertEquals("../secret.jpg", ManifestRules.resolve("s3a://b/m", "../secret.jpg"), "left unresolved");
    assertEquals("img/../../x", ManifestRules.resolve("file:/data/m", "img/../../x"));
    ImageFetcher fetcher = new ImageFetcher(Map.of(), 1 << 20, UriPolicy.of(UriPolicy.ANY, false));
    ImageError refused = assertThrows(ImageError.class, () -> fetcher.fetch("../secret.jpg"));
    assertEquals("uri_not_allowed", refused.errorClass());
  }
}
