using System.Globalization;
using CsiDriver.Core.Errors;

namespace CsiDriver.Core.Validation;

/// <summary>
/// Request parameters read exactly as written. Numbers: ASCII digits only (no sign, blank, NUL, exponent,
/// grouping or leading zero), checked against the option's range before any narrowing, so "4096\0" or
/// "4294968320" can never quietly become another number. Booleans: true or false (any of three casings, no blanks).
/// Anything else → INVALID_ARGUMENT naming the key and the rule.
/// </summary>
public static class ExactParameter
{
    /// <summary>Parses <paramref name="text"/> as a whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static long Int64(string key, string text, long min, long max)
    {
        if (!TryParseDigits(text, out var value) || value < min || value > max)
        {
            throw StorageException.InvalidArgument(
                $"parameter {InputEcho.Of(key)}={InputEcho.Of(text)} must be a whole number from {min} to {max}, written in plain digits");
        }
        return value;
    }

    /// <summary>Like <see cref="Int64"/>, for a 32-bit option.</summary>
    public static int Int32(string key, string text, int min, int max) => (int)Int64(key, text, min, max);

    public static bool Bool(string key, string text) => text switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ => throw StorageException.InvalidArgument($"parameter {InputEcho.Of(key)}={InputEcho.Of(text)} must be true or false"),
    };

    /// <summary>True when the text is plain decimal digits without a leading zero (or "0") that fit a long.</summary>
    public static bool TryParseDigits(string? text, out long value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 19 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
