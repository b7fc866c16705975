namespace Engine.Kernels.Ptx;

internal enum TokKind : byte { Word, Number, String, Punct, End }

/// <summary>One token of PTX text with its 1-based position.</summary>
internal readonly record struct Token(TokKind Kind, string Text, int Line, int Col, int Start, int End)
{
    public bool Is(string punct) => Kind == TokKind.Punct && Text == punct;
    public bool IsWord(string w) => Kind == TokKind.Word && Text == w;
    public override string ToString() => Kind == TokKind.End ? "end of text" : $"'{Text}'";
}

/// <summary>Splits PTX text into words (identifiers, registers, dotted opcodes and directives), numbers, strings and punctuation.</summary>
internal static class PtxLexer
{
    private static bool IsWordStart(char c) => char.IsAsciiLetter(c) || c is '_' or '$' or '%' or '.';
    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$' or '%' or '.';

    public static List<Token> Lex(string text)
    {
        var toks = new List<Token>(text.Length / 4);
        int i = 0, line = 1, lineStart = 0, n = text.Length;
        while (i < n)
        {
            char c = text[i];
            if (c == '\n') { i++; line++; lineStart = i; continue; }
            if (c is ' ' or '\t' or '\r' or '\f' or '\v') { i++; continue; }
            int col = i - lineStart + 1;
            if (c == '/' && i + 1 < n && text[i + 1] == '/')
            {
                while (i < n && text[i] != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < n && text[i + 1] == '*')
            {
                int j = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (j < 0) throw new PtxException(line, col, "", "unterminated /* comment");
                for (int k = i; k < j; k++) if (text[k] == '\n') { line++; lineStart = k + 1; }
                i = j + 2;
                continue;
            }
            int start = i;
            if (c == '"')
            {
                i++;
                while (i < n && text[i] != '"' && text[i] != '\n') i++;
                if (i >= n || text[i] != '"') throw new PtxException(line, col, "", "unterminated string");
                i++;
                toks.Add(new Token(TokKind.String, text[(start + 1)..(i - 1)], line, col, start, i));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                i = ScanNumber(text, i);
                toks.Add(new Token(TokKind.Number, text[start..i], line, col, start, i));
                continue;
            }
            if (IsWordStart(c))
            {
                i++;
                while (i < n && IsWordChar(text[i])) i++;
                // Scoped modifiers such as .shared::cta stay one word.
                while (i + 2 < n && text[i] == ':' && text[i + 1] == ':' && IsWordChar(text[i + 2]))
                {
                    i += 2;
                    while (i < n && IsWordChar(text[i])) i++;
                }
                toks.Add(new Token(TokKind.Word, text[start..i], line, col, start, i));
                continue;
            }
            if ("{}[]();,:+-|!@<>=".Contains(c))
            {
                i++;
                toks.Add(new Token(TokKind.Punct, c.ToString(), line, col, start, i));
                continue;
            }
            throw new PtxException(line, col, "", $"unexpected character '{c}'");
        }
        toks.Add(new Token(TokKind.End, "", line, i - lineStart + 1, n, n));
        return toks;
    }

    private static int ScanNumber(string s, int i)
    {
        int n = s.Length;
        if (s[i] == '0' && i + 1 < n && s[i + 1] is 'x' or 'X' or 'f' or 'F' or 'd' or 'D' or 'b' or 'B')
        {
            i += 2;
            while (i < n && char.IsAsciiHexDigit(s[i])) i++;
            if (i < n && s[i] is 'U' or 'u') i++;
            return i;
        }
        while (i < n && char.IsAsciiDigit(s[i])) i++;
        bool isFloat = false;
        if (i < n && s[i] == '.' && (i + 1 >= n || char.IsAsciiDigit(s[i + 1]) || !IsWordStart(s[i + 1])))
        {
            isFloat = true;
            i++;
            while (i < n && char.IsAsciiDigit(s[i])) i++;
        }
        if (i < n && s[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < n && s[j] is '+' or '-') j++;
            if (j < n && char.IsAsciiDigit(s[j]))
            {
                isFloat = true;
                i = j;
                while (i < n && char.IsAsciiDigit(s[i])) i++;
            }
        }
        if (!isFloat && i < n && s[i] is 'U' or 'u') i++;
        return i;
    }
}
