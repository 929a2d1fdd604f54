using System.Globalization;
using System.Text;
using System.Xml;

namespace CsiDriver.Testing.Aws;

/// <summary>EC2 Query API XML: responses in the 2016-11-15 namespace, errors in EC2's Response/Errors form.</summary>
internal static class Ec2Xml
{
    public const string Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

    private static readonly XmlWriterSettings Settings = new()
    {
        Encoding = new UTF8Encoding(false),
        Indent = false,
    };

    public static byte[] Response(string action, string requestId, Action<XmlWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, Settings))
        {
            w.WriteStartDocument();
            w.WriteStartElement(action + "Response", Namespace);
            w.WriteElementString("requestId", Namespace, requestId);
            body(w);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        return buffer.ToArray();
    }

    public static byte[] Error(string code, string message, string requestId)
    {
        using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, Settings))
        {
            w.WriteStartDocument();
            w.WriteStartElement("Response");
            w.WriteStartElement("Errors");
            w.WriteStartElement("Error");
            w.WriteElementString("Code", code);
            w.WriteElementString("Message", message);
            w.WriteEndElement();
            w.WriteEndElement();
            w.WriteElementString("RequestID", requestId);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        return buffer.ToArray();
    }

    public static void El(this XmlWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteElementString(name, Namespace, value);
        }
    }

    public static void El(this XmlWriter w, string name, long? value)
    {
        if (value is not null)
        {
            w.WriteElementString(name, Namespace, value.Value.ToString(CultureInfo.InvariantCulture));
        }
    }

    public static void El(this XmlWriter w, string name, bool value) =>
        w.WriteElementString(name, Namespace, value ? "true" : "false");

    public static void El(this XmlWriter w, string name, DateTimeOffset? value)
    {
        if (value is not null)
        {
            w.WriteElementString(name, Namespace, value.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A structure: &lt;name&gt;…&lt;/name&gt;.</summary>
    public static void Struct(this XmlWriter w, string name, Action body)
    {
        w.WriteStartElement(name, Namespace);
        body();
        w.WriteEndElement();
    }

    /// <summary>A list: &lt;name&gt;&lt;item&gt;…&lt;/item&gt;…&lt;/name&gt; (always written, empty when no items).</summary>
    public static void Set<T>(this XmlWriter w, string name, IEnumerable<T> items, Action<T> item)
    {
        w.WriteStartElement(name, Namespace);
        foreach (var each in items)
        {
            w.WriteStartElement("item", Namespace);
            item(each);
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    public static void Tags(this XmlWriter w, IReadOnlyDictionary<string, string> tags) =>
        w.Set("tagSet", tags.OrderBy(t => t.Key, StringComparer.Ordinal), t =>
        {
            w.El("key", t.Key);
            w.El("value", t.Value);
        });
}
