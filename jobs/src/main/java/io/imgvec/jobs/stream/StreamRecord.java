package io.imgvec.jobs.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.imgvec.io.Json;
import io.imgvec.jobs.embed.ManifestReader;
import io.imgvec.pipeline.ImageFetcher;
import io.imgvec.util.Exceptions;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * One Kafka record's value, read as a manifest row: a JSON object with {@code image_id} and {@code uri} (or
 * {@code "deleted": true}); every other field is carried as text. A record that cannot be embedded keeps its
 * {@code issue} (the error class) and {@code message}, and its raw value for the error row; it is never dropped.
 */
public record StreamRecord(String imageId, String uri, boolean deleted, Map<String, String> fields, String issue,
    String message, String rawValue) {
  /** Error rows keep at most this many characters of a bad record's value. */
  static final int RAW_VALUE_CHARS = 1000;

  static StreamRecord parse(byte[] value, long maxBytes) {
    if (value == null) {
      return bad("malformed_record", "the record has no value (a JSON object with image_id and uri)", null);
    }
    if (value.length > maxBytes) {
      return bad("oversized_record", "the record's value is " + value.length + " bytes, over stream.max-record-bytes="
          + maxBytes, value);
    }
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(value);
    } catch (java.io.IOException e) {
      String reason = e instanceof JsonProcessingException j ? j.getOriginalMessage() : Exceptions.firstLine(e);
      return bad("malformed_record", "the record's value is not valid JSON: " + reason, value);
    }
    if (json == null || !json.isObject()) {
      return bad("malformed_record", "the record's value is JSON but not an object with image_id and uri", value);
    }
    String imageId = text(json.get(ManifestReader.IMAGE_ID));
    if (imageId == null) {
      return bad("missing_field", "the record has no image_id", value);
    }
    boolean deleted = json.path("deleted").asBoolean(false);
    String uri = text(json.get(ManifestReader.URI));
    Map<String, String> fields = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      if (!f.getKey().equals(ManifestReader.IMAGE_ID) && !f.getKey().equals(ManifestReader.URI)
          && !f.getKey().equals("deleted")) {
        fields.put(f.getKey(), f.getValue().isTextual() ? f.getValue().asText() : f.getValue().toString());
      }
    }
    if (!deleted && uri == null) {
      return new StreamRecord(imageId, null, false, fields, "missing_field", "the record has no uri", raw(value));
    }
    if (!deleted && !ImageFetcher.hasScheme(uri) && !uri.startsWith("/")) {
      return new StreamRecord(imageId, uri, false, fields, "relative_uri", "uri '" + uri + "' is relative; a stream"
          + " record needs an absolute one (s3a://..., file:/..., /path)", raw(value));
    }
    return new StreamRecord(imageId, uri, deleted, fields, null, null, null);
  }

  private static StreamRecord bad(String issue, String message, byte[] value) {
    return new StreamRecord(null, null, false, Map.of(), issue, message, value == null ? null : raw(value));
  }

  /** A scalar field as text; null when absent, null, blank or not a scalar. */
  private static String text(JsonNode node) {
    if (node == null || !node.isValueNode() || node.isNull()) {
      return null;
    }
    String s = node.asText();
    return s.isBlank() ? null : s;
  }

  private static String raw(byte[] value) {
    String s = new String(value, 0, Math.min(value.length, RAW_VALUE_CHARS * 4), StandardCharsets.UTF_8);
    return s.length() > RAW_VALUE_CHARS ? s.substring(0, RAW_VALUE_CHARS) : s;
  }
}
