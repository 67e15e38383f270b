package io.imgvec.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ImgvecConfigTest {
  private static final Path SHIPPED = shippedConfiguration();

  private static Path shippedConfiguration() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("conf/imgvec.properties"))) {
        return dir.resolve("conf/imgvec.properties");
      }
    }
    throw new IllegalStateException("conf/imgvec.properties not found above " + Path.of("").toAbsolutePath());
  }

  @Test
  void shippedConfigurationIsCompleteAndValid() throws Exception {
    assertTrue(Files.readString(SHIPPED).endsWith(ImgvecConfig.documentedDefaults()),
        "conf/imgvec.properties is out of date: regenerate it with bin/imgvec config --write conf/imgvec.properties");
    assertEquals(ImgvecConfig.defaults().asStrings(), ImgvecConfig.load(SHIPPED, Map.of()).asStrings());
  }

  @Test
  void overridesWinOverTheFileAndAreValidated() throws Exception {
    Path file = Files.writeString(Files.createTempFile("imgvec", ".properties"), "inference.batch-size=8\n");
    ImgvecConfig c = ImgvecConfig.load(file, ImgvecConfig.parseOverrides(List.of("--inference.batch-size=16",
        "--read.max-bytes=2m")));
    assertEquals(16, c.get(ConfigKeys.BATCH_SIZE));
    assertEquals(2L << 20, c.get(ConfigKeys.MAX_BYTES));
    assertThrows(ConfigException.class, () -> ImgvecConfig.parseOverrides(List.of("--batch")));
    ConfigException mean = assertThrows(ConfigException.class, () -> ImgvecConfig.of(Map.of("model.mean", "1,2")));
    assertTrue(mean.getMessage().contains("three comma-separated numbers"), mean.getMessage());
  }

  @Test
  void kafkaSettingsPassThroughWithSecretsFromFilesOrTheEnvironmentAndStayOutOfSummaries() throws Exception {
    Path secret = Files.writeString(Files.createTempFile("imgvec", ".secret"), "pa$$word\\n1\n");
    ImgvecConfig c = ImgvecConfig.of(Map.of("kafka.security.protocol", "SASL_SSL", "kafka.sasl.jaas.config",
        "x password=\"${file:" + secret + "}\" y=\"${env:PATH}\";"));
    assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.jaas.config", "x password=\"pa$$word\\n1\" y=\""
        + System.getenv("PATH") + "\";"), c.kafkaClientSettings());
    assertTrue(c.asStrings().keySet().stream().noneMatch(k -> k.startsWith("kafka.")), "no secrets in summaries");
    assertEquals(c.kafkaClientSettings(), c.with(Map.of("inference.batch-size", "4")).kafkaClientSettings());
    ConfigException missing = assertThrows(ConfigException.class, () -> ImgvecConfig.of(Map.of(
        "kafka.sasl.jaas.config", "${env:IMGVEC_NO_SUCH_VARIABLE}")).kafkaClientSettings());
    assertEquals("kafka.sasl.jaas.config refers to environment variable IMGVEC_NO_SUCH_VARIABLE, which is not set",
        missing.getMessage());
  }
}
