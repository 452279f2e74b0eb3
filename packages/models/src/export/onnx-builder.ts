import onnxProto, { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS (protobufjs static code): its namespace is a property of the default export.
const { onnx } = onnxProto;

/** An attribute value: an integer, a float (use {@link float}), a string, or a list of integers. */
export type AttrValue = number | string | number[] | { float: number };

/** Marks a number as a float attribute (plain numbers are integer attributes). */
export const float = (value: number): { float: number } => ({ float: value });

const AT = onnx.AttributeProto.AttributeType;

function attribute(name: string, value: AttrValue): Onnx.IAttributeProto {
  if (typeof value === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AT.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AT.FLOAT, f: value.float };
  return { name, type: AT.INT, i: value };
}

/** Collects the nodes and initializers of one ONNX graph, naming every intermediate tensor uniquely. */
export class OnnxGraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly scalars = new Map<number, string>();

  /** A tensor name not used yet, derived from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name that must be used as is (graph input and output). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX tensor name ${name} is taken`);
    this.used.add(name);
    return name;
  }

  /** A float32 initializer; returns its name. */
  floats(base: string, values: Float32Array | number[], dims: number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const name = this.fresh(base);
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims,
      rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    return name;
  }

  /** A float32 scalar initializer, shared by every node that uses the same value. */
  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (name === undefined) {
      name = this.floats(`const_${value}`.replace(/[^\w]/g, '_'), [value], []);
      this.scalars.set(value, name);
    }
    return name;
  }

  /** An int64 initializer (shapes, pads); returns its name. */
  int64s(base: string, values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    const name = this.fresh(base);
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [values.length],
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /**
   * Adds a node `op(inputs) → output` and returns the output's name (`output`, when given, is used as is and must
   * have been reserved; otherwise a fresh name from `base`). An empty input name is an omitted optional input.
   */
  node(op: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? this.fresh(base);
    this.nodes.push({
      opType: op,
      name: this.fresh(`${base}/${op}`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }
}

/** A float tensor's value info with a symbolic batch dimension. */
export function valueInfo(name: string, shape: (number | null)[], batchParam = 'batch'): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d) => (d === null ? { dimParam: batchParam } : { dimValue: d })) },
      },
    },
  };
}

/** Serialises a model. */
export function encodeModel(model: Onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
