#!/usr/bin/env python3
"""Makes the hostile-name models of tests/cli/hostile_names.sh (issue 13, item 1).

Each model is small and valid ONNX; what is hostile is the text in it: names that close a
C comment and carry code, newlines with #define/#include lines, quotes, backslashes, NUL,
ANSI escape sequences, a 10 KB name, C keywords, bytes that are not UTF-8. The injected
code only creates the file named by $HOSTILE_MARKER (the test checks that it never does).

    python3 make_hostile_names.py [DIR]    (default: this script's folder)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# A constructor that runs when the generated code is loaded or the built program starts.
PAYLOAD = ('x */\n#include <stdio.h>\n#include <stdlib.h>\n'
           '__attribute__((constructor)) static void hostile_marker(void)\n'
           '{ const char *p = getenv("HOSTILE_MARKER"); if (p) { FILE *f = fopen(p, "w"); '
           'if (f) fclose(f); } }\n/* ')
ANSI = '\x1b[31mRED\x1b[0m\x1b]0;title\x07\x1b[2J'
NASTY = 'q"uote\\back\\\nslash ??/ ??= /* #define int return */'
LONG = 'L' * 10240 + '*/'
NOT_UTF8 = 'NOTUTF8Z'  # 'Z' becomes the byte 0xff in the written file


def save(model, path, patch_utf8=False):
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    if patch_utf8:
        assert data.count(NOT_UTF8.encode()) >= 1
        data = data.replace(NOT_UTF8.encode(), b'NOTUTF8\xff')
    with open(path, 'wb') as f:
        f.write(data)


def relu_model(in_name, out_name, node_name='relu', dim='N'):
    x = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [dim, 4])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [dim, 4])
    node = helper.make_node('Relu', [in_name], [out_name], name=node_name)
    g = helper.make_graph([node], 'g', [x], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    # 1. A graph-input name that closes the node comment and defines a constructor.
    save(relu_model(PAYLOAD, 'y'), os.path.join(out, 'inject_input.onnx'))
    # 2. The same through an output name and a node name.
    save(relu_model('x', PAYLOAD), os.path.join(out, 'inject_output.onnx'))
    save(relu_model('x', 'y', node_name=PAYLOAD), os.path.join(out, 'inject_node.onnx'))
    # 3. The same through a symbolic dimension (dim_param): comments, the --lib header.
    save(relu_model('x', 'y', dim='N' + PAYLOAD), os.path.join(out, 'inject_dim.onnx'))

    # 4. Every kind of nasty text in every kind of name: inputs, initializers, nodes,
    #    intermediate values, outputs, symbols.
    x = helper.make_tensor_value_info('in ' + ANSI + NASTY + '\x00after-nul',
                                      TensorProto.FLOAT, ['B' + ANSI + '*/', 4])
    y = helper.make_tensor_value_info('int', TensorProto.FLOAT, ['B' + ANSI + '*/', 4])
    z = helper.make_tensor_value_info('main' + NOT_UTF8, TensorProto.FLOAT,
                                      ['B' + ANSI + '*/', 4])
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32), 'w */ ' + NASTY + ANSI)
    nodes = [
        helper.make_node('Add', [x.name, w.name], ['return'], name=LONG),
        helper.make_node('Relu', ['return'], ['int'], name='n2 ' + ANSI + NASTY),
        helper.make_node('Neg', ['return'], [z.name], name='n3' + NOT_UTF8),
    ]
    g = helper.make_graph(nodes, 'g' + ANSI + NASTY, [x], [y, z], initializer=[w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    save(m, os.path.join(out, 'names.onnx'), patch_utf8=True)

    # 5. An op_type and a domain that reach error messages.
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4])
    node = helper.make_node('Relu' + ANSI + '\n#define', ['x'], ['y'], name='n' + ANSI,
                            domain='evil' + ANSI)
    g = helper.make_graph([node], 'g', [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13),
                                            helper.make_opsetid('evil' + ANSI, 1)])
    data = m.SerializeToString()  # the checker refuses the unknown domain: save as is
    with open(os.path.join(out, 'optype.onnx'), 'wb') as f:
        f.write(data)

    # 6. A valid input for the relu models: x = [[-1, 2, -3, 4]].
    np.save(os.path.join(out, 'x14.npy'), np.array([[-1, 2, -3, 4]], dtype=np.float32))


if __name__ == '__main__':
    main()
