package io.imgvec.jobs.embed.local;

import java.io.Closeable;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * Writes rows of plain Java values to one Parquet file laid out as Spark writes them (snappy; arrays as 3-level
 * lists), so Spark, DuckDB and imgvec's readers read the local runner's output exactly like the Spark runner's.
 */
public final class ParquetRowWriter implements Closeable {
  /** The column types the embed job writes; each maps to the Spark type of the same name. */
  enum Kind { STRING, INT, LONG, DOUBLE, BOOLEAN, FLOAT_ARRAY }

  record Column(String name, Kind kind) {}

  private final Path file;
  private final List<Column> columns;
  private final Configuration conf;
  private ParquetWriter<Object[]> writer;

  /** The file is created at the first row (or, empty, at close), so a task need not wait for it to start. */
  ParquetRowWriter(Path file, List<Column> columns, Configuration conf) {
    this.file = file;
    this.columns = columns;
    this.conf = conf;
  }

  /** {@code values} in column order; null leaves the value out. */
  void write(Object[] values) throws IOException {
    open().write(values);
  }

  @Override
  public void close() throws IOException {
    open().close();
  }

  private ParquetWriter<Object[]> open() throws IOException {
    if (writer == null) {
      writer = new Builder(HadoopOutputFile.fromPath(file, conf), columns)
          .withConf(conf)
          .withCompressionCodec(CompressionCodecName.SNAPPY)
          .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
          .build();
    }
    return writer;
  }

  static MessageType schema(List<Column> columns) {
    Types.MessageTypeBuilder message = Types.buildMessage();
    for (Column c : columns) {
      message.addField(type(c));
    }
    return message.named("spark_schema");
  }

  private static Type type(Column c) {
    return switch (c.kind()) {
      case STRING -> Types.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(c.name());
      case INT -> Types.optional(PrimitiveTypeName.INT32).named(c.name());
      case LONG -> Types.optional(PrimitiveTypeName.INT64).named(c.name());
      case DOUBLE -> Types.optional(PrimitiveTypeName.DOUBLE).named(c.name());
      case BOOLEAN -> Types.optional(PrimitiveTypeName.BOOLEAN).named(c.name());
      case FLOAT_ARRAY -> Types.optionalGroup().as(LogicalTypeAnnotation.listType())
          .addField(Types.repeatedGroup().addField(Types.required(PrimitiveTypeName.FLOAT).named("element"))
              .named("list"))
          .named(c.name());
    };
  }

  private static final class Builder extends ParquetWriter.Builder<Object[], Builder> {
    private final List<Column> columns;

    Builder(HadoopOutputFile file, List<Column> columns) {
      super(file);
      this.columns = columns;
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected WriteSupport<Object[]> getWriteSupport(Configuration conf) {
      return new RowWriteSupport(columns);
    }
  }

  private static final class RowWriteSupport extends WriteSupport<Object[]> {
    private final List<Column> columns;
    private RecordConsumer out;

    RowWriteSupport(List<Column> columns) {
      this.columns = columns;
    }

    @Override
    public WriteContext init(Configuration conf) {
      return new WriteContext(schema(columns), new HashMap<>());
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      out = recordConsumer;
    }

    @Override
    public void write(Object[] values) {
      out.startMessage();
      for (int i = 0; i < values.length; i++) {
        if (values[i] != null) {
          Column c = columns.get(i);
          out.startField(c.name(), i);
          writeValue(c.kind(), values[i]);
          out.endField(c.name(), i);
        }
      }
      out.endMessage();
    }

    private void writeValue(Kind kind, Object value) {
      switch (kind) {
        case STRING -> out.addBinary(Binary.fromString((String) value));
        case INT -> out.addInteger((Integer) value);
        case LONG -> out.addLong((Long) value);
        case DOUBLE -> out.addDouble((Double) value);
        case BOOLEAN -> out.addBoolean((Boolean) value);
        case FLOAT_ARRAY -> writeList((float[]) value);
      }
    }

    private void writeList(float[] vector) {
      out.startGroup();
      if (vector.length > 0) {
        out.startField("list", 0);
        for (float v : vector) {
          out.startGroup();
          out.startField("element", 0);
          out.addFloat(v);
          out.endField("element", 0);
          out.endGroup();
        }
        out.endField("list", 0);
      }
      out.endGroup();
    }
  }
}
