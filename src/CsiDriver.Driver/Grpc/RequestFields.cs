using CsiDriver.Core.Errors;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace CsiDriver.Driver.Grpc;

/// <summary>
/// Pulls the identifying fields of a CSI request for logs (volume id, snapshot id, name, node id).
/// Only these named scalar fields are read, and never one marked csi_secret, so secrets cannot reach a log.
/// </summary>
public static class RequestFields
{
    private static readonly string[] Logged = ["volume_id", "snapshot_id", "source_volume_id", "name", "node_id"];

    public static IReadOnlyList<KeyValuePair<string, string>> Identifiers(IMessage message)
    {
        var result = new List<KeyValuePair<string, string>>(2);
        var fields = message.Descriptor.Fields;
        foreach (var name in Logged)
        {
            var field = fields.InDeclarationOrder().FirstOrDefault(f => f.Name == name);
            if (field is null || field.FieldType != FieldType.String || field.IsRepeated || IsSecret(field))
            {
                continue;
            }
            if (field.Accessor.GetValue(message) is string { Length: > 0 } value)
            {
                // Logged before the RPC validates it: cut, so a hostile id cannot flood the log.
                result.Add(new(name, InputEcho.Of(value)));
            }
        }
        return result;
    }

    /// <summary>True for fields carrying the csi_secret option (extension 1059 on FieldOptions).</summary>
    public static bool IsSecret(FieldDescriptor field)
    {
        var options = field.GetOptions();
        return options is not null && options.HasExtension(Csi.V1.CsiExtensions.CsiSecret) && options.GetExtension(Csi.V1.CsiExtensions.CsiSecret);
    }
}
