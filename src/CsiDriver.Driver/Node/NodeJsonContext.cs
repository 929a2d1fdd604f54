using System.Text.Json.Serialization;

namespace CsiDriver.Driver.Node;

/// <summary>
/// Source-generated JSON for the node volume records (&lt;node-state-dir&gt;/volumes/*.json): camelCase, nulls left
/// out, indented for people reading the state dir; no reflection, as the NativeAOT binary needs.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NodeVolumeRecord))]
internal sealed partial class NodeJsonContext : JsonSerializerContext;
