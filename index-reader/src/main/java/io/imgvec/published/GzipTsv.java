package io.imgvec.published;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** The gzip'd UTF-8 line files published beside an index ({@link IdMap}, {@link ContentDigests}). */
final class GzipTsv {
  private static final int BUFFER = 1 << 16;

  private GzipTsv() {}

  static BufferedReader reader(Path file) throws IOException {
    return new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(file), BUFFER),
        StandardCharsets.UTF_8));
  }

  static BufferedWriter writer(Path file) throws IOException {
    return new BufferedWriter(new OutputStreamWriter(new GZIPOutputStream(Files.newOutputStream(file), BUFFER),
        StandardCharsets.UTF_8));
  }
}
