using System.Globalization;
using System.Text;

namespace CsiDriver.Core.Errors;

/// <summary>
/// Request input as it may appear in an error message or a log line. A status message travels in a gRPC
/// header, which clients cap (8 KiB by default): an echoed 10 KB token would turn the answer into
/// RESOURCE_EXHAUSTED on the client. So every echo of caller input is cut to a bounded length and says how
/// long the original was; control characters are shown escaped so an echo cannot forge log lines.
/// </summary>
public static class InputEcho
{
    /// <summary>The CSI limit for a string field; longer input is cut here.</summary>
    public const int MaxChars = 128;

    /// <summary>The input, or its first <see cref="MaxChars"/> characters and "…(N bytes)" when it is longer.</summary>
    public static string Of(string? value)
    {
        if (value is null)
        {
            return string.Empty;
        }
        var cut = value.Length > MaxChars;
        var shown = cut ? value[..MaxChars] : value;
        if (cut && char.IsHighSurrogate(shown[^1]))
        {
            shown = shown[..^1];
        }
        var escaped = Escape(shown);
        return cut
            ? escaped + "…(" + Encoding.UTF8.GetByteCount(value).ToString(CultureInfo.InvariantCulture) + " bytes)"
            : escaped;
    }

    private static string Escape(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }
}
