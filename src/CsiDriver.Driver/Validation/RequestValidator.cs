using CsiDriver.Core.Errors;
using CsiDriver.Driver.Grpc;

namespace CsiDriver.Driver.Validation;

/// <summary>Checks shared by every RPC: required ids, the spec's size limits and banned characters.</summary>
public static class RequestValidator
{
    /// <summary>CSI caps string fields at 128 bytes unless a field says otherwise.</summary>
    public const int MaxStringBytes = 128;

    public static string RequireId(string value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw StatusMapping.Invalid($"{field} is required");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(value) > MaxStringBytes)
        {
            throw StatusMapping.Invalid($"{field} is longer than {MaxStringBytes} bytes");
        }
        if (value.Any(IsBanned))
        {
            throw StatusMapping.Invalid($"{field} contains a control character");
        }
        return value;
    }

    public static string RequirePath(string value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw StatusMapping.Invalid($"{field} is required");
        }
        if (!Path.IsPathRooted(value) || value.Contains('\0', StringComparison.Ordinal))
        {
            throw StatusMapping.Invalid($"{field} must be an absolute path, got '{InputEcho.Of(value)}'");
        }
        if (value.Split('/').Contains(".."))
        {
            throw StatusMapping.Invalid($"{field} must not contain '..'");
        }
        return value;
    }

    /// <summary>
    /// The volume_path of NodeGetVolumeStats and NodeExpandVolume: where the CO says the volume is. Empty stays
    /// INVALID_ARGUMENT; a relative path is no place a CO stages or publishes to (those are absolute), so the
    /// volume is not at that path: NOT_FOUND, the spec's code for "volume does not exist on volume_path".
    /// </summary>
    public static string RequireVolumePath(string value, string field)
    {
        if (!string.IsNullOrEmpty(value) && !Path.IsPathRooted(value) && !value.Contains('\0', StringComparison.Ordinal))
        {
            throw StorageException.NotFound($"no volume at {field} '{InputEcho.Of(value)}': a relative path is not where a volume is staged or published");
        }
        return RequirePath(value, field);
    }

    /// <summary>The CSI name rule: U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+007F-U+009F are banned.</summary>
    public static bool IsBanned(char c) =>
        c <= '\u0008' || c == '\u000B' || c == '\u000C' || (c >= '\u000E' && c <= '\u001F') || (c >= '\u007F' && c <= '\u009F');
}
