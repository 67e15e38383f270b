package io.imgvec.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ConfigException;
import io.imgvec.image.ImageError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UriPolicyTest {

  private static String refusal(UriPolicy policy, String uri) {
    return assertThrows(ImageError.class, () -> policy.check(uri)).errorClass();
  }

  @Test
  void prefixesMatchWholeSegmentsOfTheNormalisedUri() throws ImageError {
    UriPolicy policy = UriPolicy.of("s3a://photos, /data/images/", true);
    assertEquals("s3a://photos/a/b.jpg", policy.check("s3a://photos/a/b.jpg"));
    assertEquals("file:///data/images/x.png", policy.check("file:///data/images/x.png"));
    assertEquals("file:///data/images/x.png", policy.check("/data/images/./x.png"));
    assertEquals("uri_not_allowed", refusal(policy, "s3a://photos-private/a.jpg"));
    assertEquals("uri_not_allowed", refusal(policy, "s3a://other/a.jpg"));
    assertEquals("uri_not_allowed", refusal(policy, "/data/images/../../etc/passwd"));
    assertEquals("uri_not_allowed", refusal(policy, "file:/etc/passwd"));
    assertEquals("uri_not_allowed", refusal(policy, "S3A://PHOTOS/a.jpg")); // buckets are case-sensitive
    assertEquals("s3a://photos/a.jpg", policy.check("S3A://photos/a.jpg"));
  }

  @Test
  void theStreamDefaultReadsRemoteStoresOnlyAndNoSchemeImgvecCannotFetch() throws ImageError {
    UriPolicy stream = UriPolicy.of("auto", true);
    assertEquals("s3a://any/x.jpg", stream.check("s3a://any/x.jpg"));
    assertEquals("uri_not_allowed", refusal(stream, "/etc/passwd"));
    assertEquals("uri_not_allowed", refusal(stream, "file:///etc/hostname"));
    assertEquals("unsupported_uri", refusal(stream, "http://127.0.0.1:1/x.jpg"));
    assertEquals("unsupported_uri", refusal(stream, "jar:file:/x.jar!/a.jpg"));
    UriPolicy batch = UriPolicy.of("auto", false);
    assertEquals("file:///data/x.jpg", batch.check("/data/x.jpg"));
    assertEquals("unsupported_uri", refusal(batch, "https://example.com/x.jpg"));
    assertEquals("uri_not_allowed", refusal(batch, "../outside.jpg")); // a relative URI that left its manifest
  }

  @Test
  void badSettingsAreRejectedWithTheValidForms() {
    assertTrue(assertThrows(ConfigException.class, () -> UriPolicy.of("http://x/", false)).getMessage()
        .contains("schemes"));
    assertTrue(assertThrows(ConfigException.class, () -> UriPolicy.of(" , ", false)).getMessage()
        .contains("auto or *"));
  }

  @Test
  void aRefusedFileIsNeverOpened(@TempDir Path dir) throws Exception {
    Path allowed = Files.write(dir.resolve("ok.bin"), new byte[] {1, 2, 3});
    Path secret = Files.write(Files.createDirectories(dir.resolve("secret")).resolve("key"), new byte[] {9});
    ImageFetcher fetcher = new ImageFetcher(Map.of(), 1 << 20, UriPolicy.of(dir.resolve("ok.bin").toString(), true));
    assertArrayEquals(new byte[] {1, 2, 3}, fetcher.fetch(allowed.toString()));
    assertTrue(secret.toFile().setReadable(false, false)); // opening it would fail with read_failed, not a refusal
    ImageError refused = assertThrows(ImageError.class, () -> fetcher.fetch(secret.toString()));
    assertEquals("uri_not_allowed", refused.errorClass());
    assertTrue(refused.getMessage().contains("input.allowed-uri-prefixes"), refused.getMessage());
  }
}
