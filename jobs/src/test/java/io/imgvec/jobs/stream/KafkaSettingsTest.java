package io.imgvec.jobs.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgvec.config.ConfigException;
import io.imgvec.config.ImgvecConfig;
import io.imgvec.util.UserException;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

public class KafkaSettingsTest {

  /** The settings docs/security.md gives for Amazon MSK with IAM make a client: the login module ships with imgvec. */
  @Test
  void mskIamSettingsMakeAClient() {
    ImgvecConfig msk = ImgvecConfig.of(Map.of("kafka.security.protocol", "SASL_SSL", "kafka.sasl.mechanism",
        "AWS_MSK_IAM", "kafka.sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;",
        "kafka.sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler"));
    try (Admin admin = KafkaSettings.admin("127.0.0.1:1", msk)) {
      assertEquals(Map.of("kafka.security.protocol", "SASL_SSL", "kafka.sasl.mechanism", "AWS_MSK_IAM",
          "kafka.sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;",
          "kafka.sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler"),
          KafkaSettings.sparkOptions(msk));
    }
  }

  @Test
  void unknownSettingsAndIncompleteOnesAreUserErrors() {
    ConfigException unknown = assertThrows(ConfigException.class,
        () -> KafkaSettings.client(ImgvecConfig.of(Map.of("kafka.sasl.passwrd", "x"))));
    assertTrue(unknown.getMessage().startsWith("kafka.sasl.passwrd is not a Kafka client setting"), unknown.getMessage());
    UserException incomplete = assertThrows(UserException.class, () -> KafkaSettings.admin("127.0.0.1:1",
        ImgvecConfig.of(Map.of("kafka.security.protocol", "SASL_SSL", "kafka.sasl.mechanism", "PLAIN"))));
    assertTrue(incomplete.getMessage().contains("JAAS"), incomplete.getMessage());
  }
}
