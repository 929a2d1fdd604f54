using System.Text.Json.Serialization;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Source-generated JSON for the state files (volume, snapshot, group snapshot and freeze records): camelCase, nulls left out,
/// indented for people reading the state dir. Same shape as the reflection-based options used before.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LocalVolumeRecord))]
[JsonSerializable(typeof(LocalSnapshotRecord))]
[JsonSerializable(typeof(LocalGroupSnapshotRecord))]
[JsonSerializable(typeof(LocalFreezeRecord))]
public sealed partial class LocalJsonContext : JsonSerializerContext;
