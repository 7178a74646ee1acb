import { GraphQLJSONObject } from 'graphql-scalars';

/** JSONObject: graphql-scalars' (a plain object with string keys; anything else is BAD_USER_INPUT). */
export const JSONObjectScalar = GraphQLJSONObject;
