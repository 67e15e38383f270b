package io.imgvec.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.imgvec.TestImages;
import io.imgvec.cli.Commands;
import io.imgvec.config.ImgvecConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** conf/k8s against the server: the arguments parse, and ports and probe paths are the ones it serves. */
class DeploymentTest {
  private static final Path K8S = TestImages.ROOT.getParent().getParent().resolve("conf/k8s");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @Test
  void deploymentServiceAndAutoscalerAgreeWithTheServer() throws Exception {
    JsonNode deployment = YAML.readTree(Files.readString(K8S.resolve("deployment.yaml")));
    JsonNode container = deployment.at("/spec/template/spec/containers/0");
    List<String> args = new ArrayList<>();
    container.get("args").forEach(a -> args.add(a.asText()));
    ServeMain parsed = new ServeMain();
    ImgvecConfig config = Commands.validate(new CommandLine(parsed), args); // every flag and key valid
    int port = parsed.port;
    assertEquals(port, container.at("/ports/0/containerPort").asInt());
    assertEquals("0.0.0.0", parsed.host, "a container must listen beyond loopback");
    String portName = container.at("/ports/0/name").asText();
    assertEquals("/readyz", container.at("/readinessProbe/httpGet/path").asText());
    assertEquals("/healthz", container.at("/livenessProbe/httpGet/path").asText());
    assertEquals(portName, container.at("/readinessProbe/httpGet/port").asText());
    assertEquals(portName, container.at("/livenessProbe/httpGet/port").asText());
    assertEquals(String.valueOf(port), deployment.at("/spec/template/metadata/annotations/prometheus.io~1port").asText());
    assertEquals("/metrics", deployment.at("/spec/template/metadata/annotations/prometheus.io~1path").asText());
    for (String path : List.of("/readyz", "/healthz", "/metrics")) {
      assertTrue(HttpFront.ENDPOINTS.contains(path), path + " is served");
    }

    JsonNode service = YAML.readTree(Files.readString(K8S.resolve("service.yaml")));
    assertEquals(portName, service.at("/spec/ports/0/targetPort").asText());
    assertEquals(deployment.at("/spec/selector/matchLabels"), service.at("/spec/selector"));

    assertTrue(container.at("/securityContext/runAsNonRoot").asBoolean());
    assertTrue(container.at("/securityContext/readOnlyRootFilesystem").asBoolean());
    assertFalse(container.at("/securityContext/allowPrivilegeEscalation").asBoolean(true));
    String tokens = config.get(io.imgvec.config.ConfigKeys.SERVE_AUTH_TOKEN_FILE);
    List<String> mounts = new ArrayList<>();
    container.get("volumeMounts").forEach(m -> mounts.add(m.get("mountPath").asText()));
    assertTrue(mounts.stream().anyMatch(m -> tokens.startsWith(m + "/")), tokens + " is mounted from the Secret");
    assertTrue(mounts.contains("/tmp"), "a writable /tmp for index versions beside the read-only root");
    JsonNode policy = YAML.readTree(Files.readString(K8S.resolve("networkpolicy.yaml")));
    assertEquals(deployment.at("/spec/selector/matchLabels"), policy.at("/spec/podSelector/matchLabels"));
    assertEquals(port, policy.at("/spec/ingress/0/ports/0/port").asInt());

    JsonNode hpa = YAML.readTree(Files.readString(K8S.resolve("hpa.yaml")));
    assertEquals(deployment.at("/metadata/name"), hpa.at("/spec/scaleTargetRef/name"));
    assertEquals(deployment.at("/kind"), hpa.at("/spec/scaleTargetRef/kind"));
    assertTrue(hpa.at("/spec/minReplicas").asInt() <= hpa.at("/spec/maxReplicas").asInt());
  }
}
