package io.imgvec.jobs.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class StreamRecordTest {
  private static StreamRecord parse(String value) {
    return StreamRecord.parse(value.getBytes(StandardCharsets.UTF_8), 256);
  }

  @Test
  void aManifestRowCarriesItsOtherFieldsAsText() {
    StreamRecord r = parse("{\"image_id\": 42, \"uri\": \"s3a://b/x.jpg\", \"sku\": \"A1\", \"tags\": [\"red\"],"
        + " \"price\": 9.5}");
    assertEquals("42", r.imageId());
    assertEquals("s3a://b/x.jpg", r.uri());
    assertEquals(Map.of("sku", "A1", "tags", "[\"red\"]", "price", "9.5"), r.fields());
    assertNull(r.issue());
    assertNull(r.rawValue(), "a good record does not repeat its value");
  }

  @Test
  void aDeletionNeedsNoUri() {
    StreamRecord r = parse("{\"image_id\": \"a\", \"deleted\": true}");
    assertTrue(r.deleted());
    assertNull(r.issue());
  }

  @Test
  void badRecordsKeepTheirClassMessageAndRawValue() {
    assertIssue(parse("{\"image_id\": \"a\", "), "malformed_record", "not valid JSON");
    assertIssue(parse("[1, 2]"), "malformed_record", "not an object");
    assertIssue(parse("{\"uri\": \"/x.jpg\"}"), "missing_field", "no image_id");
    assertIssue(parse("{\"image_id\": \" \", \"uri\": \"/x.jpg\"}"), "missing_field", "no image_id");
    assertIssue(parse("{\"image_id\": \"a\"}"), "missing_field", "no uri");
    assertIssue(parse("{\"image_id\": \"a\", \"uri\": \"photos/x.jpg\"}"), "relative_uri", "absolute");
    assertIssue(parse("{\"image_id\": \"a\", \"uri\": \"/x.jpg\", \"pad\": \"" + "x".repeat(300) + "\"}"),
        "oversized_record", "over stream.max-record-bytes=256");
    StreamRecord empty = StreamRecord.parse(null, 256);
    assertEquals("malformed_record", empty.issue());
    assertNull(empty.rawValue());
  }

  @Test
  void theRawValueIsTruncated() {
    String huge = "{" + "x".repeat(5000);
    StreamRecord r = StreamRecord.parse(huge.getBytes(StandardCharsets.UTF_8), 1 << 20);
    assertEquals(StreamRecord.RAW_VALUE_CHARS, r.rawValue().length());
  }

  private static void assertIssue(StreamRecord r, String issue, String text) {
    assertEquals(issue, r.issue(), r.message());
    assertTrue(r.message().contains(text), r.message());
    assertTrue(r.rawValue() != null && !r.rawValue().isEmpty(), "raw value kept");
  }
}
