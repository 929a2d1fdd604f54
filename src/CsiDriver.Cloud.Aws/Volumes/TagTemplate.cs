using System.Text.RegularExpressions;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>
/// Renders tagSpecification_N values ("key=value") with the template variables aws-ebs-csi-driver users
/// write: {{ .PVCName }}, {{ .PVCNamespace }}, {{ .PVName }} (volumes) and {{ .VolumeSnapshotName }},
/// {{ .VolumeSnapshotNamespace }}, {{ .VolumeSnapshotContentName }} (snapshots).
/// </summary>
public static partial class TagTemplate
{
    public const string PvcName = "PVCName";
    public const string PvcNamespace = "PVCNamespace";
    public const string PvName = "PVName";
    public const string VolumeSnapshotName = "VolumeSnapshotName";
    public const string VolumeSnapshotNamespace = "VolumeSnapshotNamespace";
    public const string VolumeSnapshotContentName = "VolumeSnapshotContentName";

    /// <summary>
    /// Renders one tag specification. A variable the context does not provide, any other template
    /// syntax, a missing '=' or an empty key → InvalidArgument naming the specification.
    /// </summary>
    public static KeyValuePair<string, string> Render(string specification, IReadOnlyDictionary<string, string> values)
    {
        var rendered = Variable().Replace(specification, match =>
        {
            var name = match.Groups[1].Value;
            return values.TryGetValue(name, out var value)
                ? value
                : throw StorageException.InvalidArgument(
                    $"tag specification '{InputEcho.Of(specification)}': template variable .{name} is not known here (known: {string.Join(", ", values.Keys.Select(k => "." + k))})");
        });
        if (rendered.Contains("{{", StringComparison.Ordinal) || rendered.Contains("}}", StringComparison.Ordinal))
        {
            throw StorageException.InvalidArgument($"tag specification '{InputEcho.Of(specification)}': only {{{{ .Name }}}} variables are supported");
        }
        var equals = rendered.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw StorageException.InvalidArgument($"tag specification '{InputEcho.Of(specification)}' must be key=value");
        }
        var key = rendered[..equals].Trim();
        if (key.Length > 128)
        {
            throw StorageException.InvalidArgument($"tag specification '{InputEcho.Of(specification)}': key must be at most 128 characters");
        }
        if (EbsTags.IsReserved(key))
        {
            throw StorageException.InvalidArgument(
                $"tag specification '{InputEcho.Of(specification)}': tag key {InputEcho.Of(key)} is reserved (the driver's own tags, kubernetes.io/cluster/*, aws:*)");
        }
        var tagValue = rendered[(equals + 1)..].Trim();
        if (tagValue.Length > 256)
        {
            throw StorageException.InvalidArgument($"tag specification '{InputEcho.Of(specification)}': value must be at most 256 characters");
        }
        return new(key, tagValue);
    }

    [GeneratedRegex(@"\{\{\s*\.([A-Za-z][A-Za-z0-9]*)\s*\}\}")]
    private static partial Regex Variable();
}
