using System.Globalization;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Validation;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The local backend's mutable parameters (CreateVolume's mutable_parameters, a VolumeAttributesClass, ModifyVolume):
/// <c>readAheadKiB</c>, the kernel read-ahead of the volume's loop device in KiB (what <c>blockdev --setra</c> tunes
/// on a real disk). Kept in the volume's record, applied at every attach and at once to an attached volume.
/// </summary>
public static class LocalMutableParameters
{
    public const string ReadAheadKiBKey = "readAheadKiB";

    /// <summary>64 MiB: far above any useful read-ahead, low enough that a typo is caught.</summary>
    public const int MaxReadAheadKiB = 65536;

    /// <summary>Checks every key and value; returns them normalised. An unknown key or a bad value is INVALID_ARGUMENT.</summary>
    public static Dictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var valid = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key != ReadAheadKiBKey)
            {
                throw StorageException.InvalidArgument($"unknown mutable parameter '{InputEcho.Of(key)}': the local backend accepts {ReadAheadKiBKey}");
            }
            var kib = ExactParameter.Int32(ReadAheadKiBKey, value, 0, MaxReadAheadKiB);
            valid[key] = kib.ToString(CultureInfo.InvariantCulture);
        }
        return valid;
    }

    /// <summary>The read-ahead a volume's parameters ask for, or null to leave the kernel's default.</summary>
    public static int? ReadAheadKiB(IReadOnlyDictionary<string, string>? parameters) =>
        parameters is not null && parameters.TryGetValue(ReadAheadKiBKey, out var value)
            ? int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture)
            : null;
}
