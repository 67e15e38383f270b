package io.imgvec.serving;

import io.imgvec.config.ConfigException;
import io.imgvec.io.Digests;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;

/**
 * Bearer tokens from {@code serve.auth-token-file} (one per line; blank lines and {@code #} comments skipped). A
 * presented token is compared with every accepted one by their SHA-256 digests in constant time, so neither the
 * answer's timing nor an early exit tells how much of a token was right. Tokens are never logged or echoed.
 */
final class BearerAuth {
  private static final String SCHEME = "Bearer ";

  private final List<byte[]> digests;

  private BearerAuth(List<byte[]> digests) {
    this.digests = digests;
  }

  /** The tokens in {@code file}; a missing, unreadable or empty file is a user error naming the file only. */
  static BearerAuth fromFile(String file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("cannot read serve.auth-token-file " + file + ": " + e.getClass().getSimpleName());
    }
    List<byte[]> digests = lines.stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .map(BearerAuth::digest).toList();
    if (digests.isEmpty()) {
      throw new ConfigException("serve.auth-token-file " + file + " holds no token (one per line)");
    }
    return new BearerAuth(digests);
  }

  /** Whether an {@code Authorization} header value carries an accepted token. */
  boolean accepts(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return false;
    }
    byte[] presented = digest(authorization.substring(SCHEME.length()).strip());
    boolean accepted = false;
    for (byte[] d : digests) { // no early exit: every token is compared
      accepted |= MessageDigest.isEqual(d, presented);
    }
    return accepted;
  }

  private static byte[] digest(String token) {
    return Digests.sha256(token.getBytes(StandardCharsets.UTF_8)).getBytes(StandardCharsets.US_ASCII);
  }
}
